"""Lambda entry points, one module per function: parse the event, wire the seams, summarise."""
