"""Commands of this module are registered on netcalc.cli.main when written."""
