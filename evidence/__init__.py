"""Scripted evidence for the operations claims (duplicates, bad input, faults, load, cost); see README."""
