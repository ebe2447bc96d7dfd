//! Column-major feature matrix.
//!
//! Column-major because every hot loop in training (binning, histogram construction) walks one
//! feature over many rows; row access is only needed at prediction/explanation time, where
//! [`Dataset::row`] copies one row out. NaN means "missing" everywhere in this crate.

use serde::{Deserialize, Serialize};

use crate::error::MlError;

/// A dense feature matrix stored column by column. NaN marks a missing value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Number of rows (samples).
    pub n_rows: usize,
    /// One name per column; names are unique so models can be matched to data by name.
    pub feature_names: Vec<String>,
    /// `columns[j][i]` is feature `j` of row `i`.
    pub columns: Vec<Vec<f64>>,
}

impl Dataset {
    /// Builds a dataset from columns, validating shape, name uniqueness and finiteness.
    ///
    /// Infinite values are rejected rather than silently binned, because an infinite threshold
    /// would make a split unreproducible after a JSON round trip.
    pub fn from_columns(
        feature_names: Vec<String>,
        columns: Vec<Vec<f64>>,
    ) -> Result<Self, MlError> {
        let n_rows = columns.first().map_or(0, Vec::len);
        let ds = Self {
            n_rows,
            feature_names,
            columns,
        };
        ds.validate()?;
        Ok(ds)
    }

    /// Checks the invariants [`Dataset::from_columns`] establishes. Fields are public (for
    /// cheap construction and serde), so consumers such as training re-check them.
    pub fn validate(&self) -> Result<(), MlError> {
        if self.columns.len() != self.feature_names.len() {
            return Err(MlError::LengthMismatch {
                what: "columns vs feature_names".into(),
                expected: self.feature_names.len(),
                got: self.columns.len(),
            });
        }
        if self.columns.is_empty() {
            return Err(MlError::Empty("dataset has no features".into()));
        }
        if self.n_rows == 0 {
            return Err(MlError::Empty("dataset has no rows".into()));
        }
        for (j, col) in self.columns.iter().enumerate() {
            if col.len() != self.n_rows {
                return Err(MlError::LengthMismatch {
                    what: format!("column '{}'", self.feature_names[j]),
                    expected: self.n_rows,
                    got: col.len(),
                });
            }
            if let Some(row) = col.iter().position(|v| v.is_infinite()) {
                return Err(MlError::NonFiniteFeature {
                    column: self.feature_names[j].clone(),
                    row,
                });
            }
        }
        let mut sorted: Vec<&String> = self.feature_names.iter().collect();
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(MlError::InvalidParam(format!(
                "duplicate feature name '{}'",
                w[0]
            )));
        }
        Ok(())
    }

    /// Builds a dataset from row-major data (each inner vector is one row).
    pub fn from_rows(feature_names: Vec<String>, rows: &[Vec<f64>]) -> Result<Self, MlError> {
        let n_features = feature_names.len();
        let mut columns: Vec<Vec<f64>> = (0..n_features)
            .map(|_| Vec::with_capacity(rows.len()))
            .collect();
        for (i, row) in rows.iter().enumerate() {
            if row.len() != n_features {
                return Err(MlError::LengthMismatch {
                    what: format!("row {i}"),
                    expected: n_features,
                    got: row.len(),
                });
            }
            for (col, &v) in columns.iter_mut().zip(row) {
                col.push(v);
            }
        }
        Self::from_columns(feature_names, columns)
    }

    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.columns.len()
    }

    /// Copies row `i` out (out-of-range rows yield all-NaN, i.e. "everything missing").
    pub fn row(&self, i: usize) -> Vec<f64> {
        self.columns
            .iter()
            .map(|c| c.get(i).copied().unwrap_or(f64::NAN))
            .collect()
    }

    /// A new dataset holding the given rows in the given order (used by CV to cut folds).
    pub fn subset(&self, rows: &[usize]) -> Result<Self, MlError> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.n_rows) {
            return Err(MlError::InvalidParam(format!(
                "subset row {bad} out of range (n_rows = {})",
                self.n_rows
            )));
        }
        let columns = self
            .columns
            .iter()
            .map(|c| rows.iter().map(|&r| c[r]).collect())
            .collect();
        Self::from_columns(self.feature_names.clone(), columns)
    }
}
