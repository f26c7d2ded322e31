"""Result files read back for people: ``hpcinv inspect``'s summary and ``hpcinv plot``'s
figures."""
