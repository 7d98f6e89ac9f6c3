"""One module per stage: its step `run` (ports in, state out; the Lambda handler calls it and nothing else) and its
pure decision core (pixels and settings in, decisions out), which `make eval` calls too. Each imports at the top
what its stage needs and nothing another stage needs, so a function's cold start loads only its own stage."""
