"""doorplate — places, QR plates, booking and queues (issues 4 and 5)."""
