"""The trusted side of the sandbox: the client, its limits, student-made trees."""
