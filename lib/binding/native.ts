/**
 * The addon's exports, typed once (node-llama-cpp's AddonTypes habit). Mirrors native/addon.cc and
 * native/binding/session.h.
 * @internal
 */
import type { ModelPlan } from '../model/plan.js';

export interface NativeCudaDevice {
  index: number;
  name: string;
  computeCapability: string;
  totalMemoryBytes: number;
  multiprocessors: number;
}

export interface NativeSystemInfo {
  napiVersion: number;
  hardwareThreads: number;
  cuda: {
    built: boolean;
    note: string;
    runtimeVersion?: number;
    /** CUDA version the driver supports (e.g. 13000), 0 without a driver. */
    driverVersion: number;
    /** The NVIDIA driver's version string, null without a driver. */
    driver: string | null;
    devices: NativeCudaDevice[];
    error?: string;
  };
  tensorrt: { found: boolean; library?: string; version?: string; error?: string };
  backends: string[];
}

export interface NativeTopK {
  /** Document indices, best first (empty when topK was 0). */
  indices: Int32Array;
  /** Their scores; with topK 0, every score in document order. */
  scores: Float32Array;
}

export interface NativeRequest {
  submit(ids: Int32Array, typeIds: Uint8Array, offsets: Int32Array, firstIndex: number): Promise<void>;
  finish(topK: number): Promise<NativeTopK>;
  cancel(): void;
}

export interface NativeSession {
  readonly backend: string;
  readonly memoryBytes: number;
  readonly numLabels: number;
  createRequest(count: number, activation: 'sigmoid' | 'none'): NativeRequest;
  close(): Promise<void>;
}

export interface NativeLoadOptions {
  backend: 'cpu';
  threads?: number;
}

export interface NativeAddon {
  loadSession(spec: ModelPlan, options: NativeLoadOptions): Promise<NativeSession>;
  systemInfo(): NativeSystemInfo;
}

/** Errors the addon throws or rejects with carry one of these codes. */
export type NativeErrorCode = 'ERR_INVALID_ARGUMENT' | 'ERR_BACKEND' | 'ERR_CANCELLED' | 'ERR_CLOSED';
