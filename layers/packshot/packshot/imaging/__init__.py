"""Pure image work: decode, classify, finish, score, export. PIL and numpy only."""
