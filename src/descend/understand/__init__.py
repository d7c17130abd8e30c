"""Reading and showing a run: the exact optimum, the diagnosis, sweeps, explain, pictures.

Never called by the training loop; imports the layers below (engine, data, learn).
"""
