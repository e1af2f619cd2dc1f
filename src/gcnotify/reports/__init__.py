"""The reports pipeline: plan the business day, collect from Genesys, render, send once."""
