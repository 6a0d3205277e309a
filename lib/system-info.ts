import type { BinaryInfo } from './binding/candidates.js';
import { loadAddon, loadedBinary } from './binding/loader.js';
import type { NativeSystemInfo } from './binding/native.js';

export type { BinaryInfo };
export type SystemInfo = NativeSystemInfo & {
  /** The addon binary this process loaded: its path, where it came from, why, and what was passed over. */
  binary: BinaryInfo;
};

/**
 * What this machine and this build of trt-rerank can run: the binary loaded (and why), CUDA devices, driver
 * and runtime versions, whether TensorRT's library loads, and the backends compiled in.
 *
 * @example
 * ```ts
 * const { binary, cuda, backends } = systemInfo();
 * console.log(binary.path, binary.reason, backends, cuda.devices.map((d) => d.name));
 * ```
 */
export function systemInfo(): SystemInfo {
  const info = loadAddon().systemInfo();
  return { binary: loadedBinary(info), ...info };
}
