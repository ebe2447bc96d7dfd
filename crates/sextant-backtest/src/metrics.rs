//! Performance metrics (empyrical/quantstats compatible).
