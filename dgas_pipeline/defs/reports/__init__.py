"""Reports as assets: the weekly calibration report and its job."""
