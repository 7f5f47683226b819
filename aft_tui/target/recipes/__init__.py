"""The offline catalogue of well-known training-recipe edits (AdamW, warmup + cosine, clipping,
label smoothing, EMA, mixed precision, compile, bigger evaluation batches, Trainer settings).

Each recipe turns a script's source into an edited source, or declines: a research session
tries them as code experiments without asking a model, so an edit must be small enough for a
person to review and safe enough to run unattended.
"""
