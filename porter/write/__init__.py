"""Writing a port's result: directories through a journal (journal.py, directory.py), commits on a git ref
(gitref.py), the ported patch (patchfile.py), .rej files (rejects.py); transaction.py makes all of it one
all-or-nothing step across every target tree."""
