"""Data sources, the sharded HDF5 store, the ratio split and exports."""
