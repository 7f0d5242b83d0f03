"""The placement ladder: codes (codes.py), result types (result.py), one module per rung, and the ordered
ladder with its loop (ladder.py). Start reading at ladder.py."""
