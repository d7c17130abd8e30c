"""Beyond one array in memory: the block gradients of ``learn/blocks.py`` over Dask."""
