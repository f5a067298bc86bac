//! Offset pagination shared by every list: `limit` (1 to [`MAX_LIMIT`], default
//! [`DEFAULT_LIMIT`]) and `offset` in the query, `items`, `total`, `limit` and `offset` in
//! the answer. Lists are ordered on a unique key, so pages are stable while nothing is
//! written.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, FieldError};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i64,
    pub offset: i64,
}

impl PageRequest {
    /// Checks `limit` and `offset` as given in a query string.
    pub fn parse(limit: Option<i64>, offset: Option<i64>) -> Result<Self, AppError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        let offset = offset.unwrap_or(0);
        let mut errors = Vec::new();
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                "range",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        if offset < 0 {
            errors.push(FieldError::new("offset", "range", "must not be negative"));
        }
        if errors.is_empty() {
            Ok(Self { limit, offset })
        } else {
            Err(AppError::Validation(errors))
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    /// The objects of this page, in the list's order.
    pub items: Vec<T>,
    /// How many objects match the filters, over all pages.
    #[schema(example = 120)]
    pub total: i64,
    /// The page size used.
    #[schema(example = 50)]
    pub limit: i64,
    /// How many objects were skipped before this page.
    #[schema(example = 0)]
    pub offset: i64,
}

impl<T: ToSchema> Page<T> {
    pub fn new(items: Vec<T>, total: i64, page: PageRequest) -> Self {
        Self {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            PageRequest::parse(None, None).expect("defaults"),
            PageRequest {
                limit: 50,
                offset: 0
            }
        );
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(MAX_LIMIT + 1), None).is_err());
        assert!(PageRequest::parse(Some(10), Some(-1)).is_err());
        assert!(PageRequest::parse(Some(MAX_LIMIT), Some(1000)).is_ok());
    }
}
