"""The thin trainer: fit any architecture on any store, with data held as device tensors."""
