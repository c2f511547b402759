"""The untrusted side: a zygote that forks one sandbox per submission, the
wire format both sides speak, and the limits put on a sandbox."""
