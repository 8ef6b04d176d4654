"""Tests of common_tools (a package so pytest names them tests.*, not common_tools.tests.*)."""
