"""Models layer: learned and decoder-side components (torch where training is needed).

- :mod:`rdlab.models.retrieval` — decoders with per-modality temperatures, chunked scoring with
  a bounded-memory top-k, the linear InfoNCE ("naive CLIP") baseline and the evaluation of
  quantised retrieval at a bit budget (Chen, Secs. 5.2 and 7).
"""
