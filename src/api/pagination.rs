//! Offset pagination shared by every list: `limit` (1 to [`MAX_LIMIT`], default
//! [`DEFAULT_LIMIT`]) and `offset` in the query, `items`, `total`, `limit` and `offset` in
//! the answer. Lists are ordered on a unique key, so pages are stable while nothing is
//! written.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, FieldError};
use crate::models::{ListParams, NameSort};

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

/// How to order a list of named objects: `name` (default), `-name`, `created_at` or
/// `-created_at`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum NameSortParam {
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDesc,
    #[serde(rename = "created_at")]
    CreatedAt,
    #[serde(rename = "-created_at")]
    CreatedAtDesc,
}

/// The page, name filter and order of a list of named objects.
pub fn list_params(
    limit: Option<i64>,
    offset: Option<i64>,
    name: Option<String>,
    sort: Option<NameSortParam>,
) -> Result<ListParams, AppError> {
    let page = PageRequest::parse(limit, offset)?;
    Ok(ListParams {
        limit: page.limit,
        offset: page.offset,
        name_contains: name,
        sort: match sort {
            None | Some(NameSortParam::Name) => NameSort::Name,
            Some(NameSortParam::NameDesc) => NameSort::NameDesc,
            Some(NameSortParam::CreatedAt) => NameSort::CreatedAt,
            Some(NameSortParam::CreatedAtDesc) => NameSort::CreatedAtDesc,
        },
    })
}

impl From<&ListParams> for PageRequest {
    fn from(params: &ListParams) -> Self {
        Self {
            limit: params.limit,
            offset: params.offset,
        }
    }
}

/// For update bodies: tells a field set to `null` (`Some(None)`) from an absent one
/// (`None`). Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
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
