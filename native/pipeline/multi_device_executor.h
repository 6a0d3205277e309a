// One executor over several: a model copy per GPU (`device: [0, 1]` or 'all'), behind the one scheduler.
//
//   slots        the parts' slots interleaved (slot s is part s % N's slot s / N), so the scheduler, which takes
//                the lowest free slot on an idle device first, spreads batches over the devices
//   launch/wait  on the slot's part; the part writes its raw scores into its own arena, and the executor notes, per
//                arena index, which part wrote it (the batch's dest list is on the host at launch)
//   finishCall   a call all of whose pairs ran on one part finishes there (activation and top-k on that device,
//                only k results cross); a call split over parts has its raw scores read from each part, merged
//                on the host by that note, written into one healthy part's arena and finished there, so its
//                results are those of a single-device run
//   lost device  a part whose device's CUDA context is lost (its own broken(), or a copy's on the same device) gets
//                no more batches; the calls of its failed batch fail with its error (ERR_BACKEND), the others run
//                on; once every device is lost, broken() says so
//
// Counters: per part, "device<d>.<name>" (batches, pairs, tokens, lost, and the part's own counters; d the device
// index, with ".<i>" added where a device appears twice), and "splitCalls" (calls merged over parts).
#pragma once

#include <memory>
#include <vector>

#include "pipeline/executor.h"

namespace trt_rerank {

// parts: at least two, built alike (same model and options) on the devices `devices` lists, in that order.
// Throws ERR_INVALID_ARGUMENT where their slots or limits disagree.
std::unique_ptr<BatchExecutor> makeMultiDeviceExecutor(std::vector<std::unique_ptr<BatchExecutor>> parts, std::vector<int> devices);

}  // namespace trt_rerank
