"""The pure core: config types and validation, business days and windows, holidays, errors,
retry policy. No module here does I/O, reads the clock or the environment, or imports a seam."""
