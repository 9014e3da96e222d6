"""torch's own CUDA memory figures, read only when the app has already imported torch.

The app imports torch lazily (it costs seconds), so this module never imports it: it looks in
`sys.modules`. It also never creates a CUDA context: touching CUDA from the sampler thread
before the model is loaded would cost hundreds of MB of GPU memory for nothing.
"""

from __future__ import annotations

import sys

from tui.hardware.snapshot import TorchCudaSnapshot


def read_torch_cuda() -> tuple[TorchCudaSnapshot, ...]:
    """Figures per CUDA device, or () when torch is not imported or CUDA not initialised."""
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None) if torch is not None else None
    if cuda is None:
        return ()
    try:
        if not cuda.is_initialized():
            return ()
        out = []
        for i in range(cuda.device_count()):
            uuid = getattr(cuda.get_device_properties(i), "uuid", None)
            out.append(
                TorchCudaSnapshot(
                    index=i,
                    allocated=int(cuda.memory_allocated(i)),
                    reserved=int(cuda.memory_reserved(i)),
                    max_allocated=int(cuda.max_memory_allocated(i)),
                    uuid=str(uuid) if uuid is not None else None,
                )
            )
        return tuple(out)
    except Exception:  # a half-imported or broken torch must not break the gauges
        return ()
