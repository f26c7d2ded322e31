"""What the apps' synthetic test problems share: relative noise, a truth with its data, the
checks of driver-script arguments, and problem kinds built from driver-script functions."""
