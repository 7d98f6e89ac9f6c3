"""The stages' pure decision cores: pixels and settings in, decisions out. The Lambdas and `make eval` share them."""
