"""Beyond one array in memory: the block gradients of ``learn/blocks.py`` over table files
read in row blocks (``sources``, ``stream``: ``FileBlocks``) and over Dask partitions
(``dask``: ``DaskBlocks``, on any scheduler, a ``distributed`` cluster included), and the
two passes the estimators make over such data (``tables``)."""
