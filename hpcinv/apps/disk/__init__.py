"""The disk app: distribution functions of thin galactic disks from velocity profiles (Pichon & Thiebaut 1997)."""
