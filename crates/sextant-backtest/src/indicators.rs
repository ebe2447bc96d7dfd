//! Technical indicators (TA-Lib compatible).
