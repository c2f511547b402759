"""The untrusted side: the zygote and the confinement of each sandbox."""
