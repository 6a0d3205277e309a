import { loadAddon } from './binding/loader.js';
import type { NativeSystemInfo } from './binding/native.js';

export type SystemInfo = NativeSystemInfo;

/**
 * What this machine and this build of trt-rerank can run: CUDA devices, driver and runtime versions,
 * whether TensorRT's library loads, and the backends compiled in.
 *
 * @example
 * ```ts
 * const { cuda, backends } = systemInfo();
 * console.log(backends, cuda.devices.map((d) => d.name));
 * ```
 */
export function systemInfo(): SystemInfo {
  return loadAddon().systemInfo();
}
