"""The console's widgets; only the queue and row lists draw themselves line by line."""
