"""The console's screens: the queue, a ticket, help, and the small modal forms."""
