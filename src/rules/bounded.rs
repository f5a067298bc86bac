//! Bounded twins of the string functions whose one call can allocate far more than the
//! value limit before Rhai checks its result: `replace` (its result grows with the number
//! of matches times the substitute, so two 40,000-character strings make 1.6 GB) and the
//! `split` family and `to_chars` (one small string per piece: a 1 MiB string split on ""
//! makes a million of them). Each twin counts what it would make, without allocating,
//! and refuses with the same "too large" error as Rhai's own checks when it would exceed
//! the limit; otherwise it does exactly what the original does.
//!
//! They are registered in the engine's global namespace, which Rhai searches before the
//! packages, so a script calling `replace` or `split` always reaches these. Everything
//! else grows a value by at most a small multiple of its inputs in one call (`+` makes at
//! most twice the limit, `pad` checks its length first, case mapping at most triples a
//! string); what a script builds over many calls is bounded by the size limits and the
//! memory meter ([`super::memory`]).

use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Position, INT};

type Checked<T> = Result<T, Box<EvalAltResult>>;

fn too_large(what: &str, size: usize, limit: usize) -> Box<EvalAltResult> {
    EvalAltResult::ErrorDataTooLarge(
        format!("{what} ({size}, the limit is {limit})"),
        Position::NONE,
    )
    .into()
}

/// Occurrences of `find` in `string` as `str::replace` and `str::split` count them: an
/// empty pattern matches before every character and at the end.
fn occurrences(string: &str, find: &str) -> usize {
    if find.is_empty() {
        string.chars().count() + 1
    } else {
        string.matches(find).count()
    }
}

fn replace_checked(
    string: &mut ImmutableString,
    find: &str,
    substitute: &str,
    max_len: usize,
) -> Checked<()> {
    if string.is_empty() {
        return Ok(());
    }
    let count = occurrences(string, find);
    // The matches do not overlap, so what they remove is within the string.
    let kept = string.len() - count * find.len();
    let len = count
        .checked_mul(substitute.len())
        .and_then(|added| kept.checked_add(added));
    match len {
        Some(len) if len <= max_len => {
            *string = string.replace(find, substitute).into();
            Ok(())
        }
        _ => Err(too_large(
            "Length of string after replace",
            len.unwrap_or(usize::MAX),
            max_len,
        )),
    }
}

/// Pieces of a split: one more than the delimiters found, and at most `segments`.
fn pieces_checked(pieces: usize, max_items: usize) -> Checked<()> {
    if pieces > max_items {
        Err(too_large("Size of array after split", pieces, max_items))
    } else {
        Ok(())
    }
}

fn segments(segments: INT) -> usize {
    usize::try_from(segments).unwrap_or(usize::MAX)
}

fn split_str(
    string: &ImmutableString,
    delimiter: &str,
    limit: usize,
    reverse: bool,
    max: usize,
) -> Checked<Array> {
    if string.is_empty() || (!delimiter.is_empty() && !string.contains(delimiter)) {
        return Ok(vec![string.clone().into()]);
    }
    pieces_checked((occurrences(string, delimiter) + 1).min(limit), max)?;
    Ok(match (reverse, limit == usize::MAX) {
        (false, true) => string.split(delimiter).map(Into::into).collect(),
        (false, false) => string.splitn(limit, delimiter).map(Into::into).collect(),
        (true, true) => string.rsplit(delimiter).map(Into::into).collect(),
        (true, false) => string.rsplitn(limit, delimiter).map(Into::into).collect(),
    })
}

fn split_char(
    string: &ImmutableString,
    delimiter: char,
    limit: usize,
    reverse: bool,
    max: usize,
) -> Checked<Array> {
    if string.is_empty() || !string.contains(delimiter) {
        return Ok(vec![string.clone().into()]);
    }
    pieces_checked((string.matches(delimiter).count() + 1).min(limit), max)?;
    Ok(match (reverse, limit == usize::MAX) {
        (false, true) => string.split(delimiter).map(Into::into).collect(),
        (false, false) => string.splitn(limit, delimiter).map(Into::into).collect(),
        (true, true) => string.rsplit(delimiter).map(Into::into).collect(),
        (true, false) => string.rsplitn(limit, delimiter).map(Into::into).collect(),
    })
}

/// Registers the twins, bounded by the engine's value limits.
pub fn register(engine: &mut Engine, max_len: usize, max_items: usize) {
    engine
        .register_fn(
            "replace",
            move |s: &mut ImmutableString, find: ImmutableString, with: ImmutableString| {
                replace_checked(s, &find, &with, max_len)
            },
        )
        .register_fn(
            "replace",
            move |s: &mut ImmutableString, find: ImmutableString, with: char| {
                replace_checked(s, &find, with.encode_utf8(&mut [0; 4]), max_len)
            },
        )
        .register_fn(
            "replace",
            move |s: &mut ImmutableString, find: char, with: ImmutableString| {
                replace_checked(s, find.encode_utf8(&mut [0; 4]), &with, max_len)
            },
        )
        .register_fn(
            "replace",
            move |s: &mut ImmutableString, find: char, with: char| {
                replace_checked(
                    s,
                    find.encode_utf8(&mut [0; 4]),
                    with.encode_utf8(&mut [0; 4]),
                    max_len,
                )
            },
        );
    engine
        .register_fn(
            "split",
            move |s: &mut ImmutableString, d: ImmutableString| {
                split_str(s, &d, usize::MAX, false, max_items)
            },
        )
        .register_fn(
            "split",
            move |s: &mut ImmutableString, d: ImmutableString, n: INT| {
                if n <= 1 {
                    return Ok(vec![s.clone().into()]);
                }
                split_str(s, &d, segments(n), false, max_items)
            },
        )
        .register_fn("split", move |s: &mut ImmutableString, d: char| {
            split_char(s, d, usize::MAX, false, max_items)
        })
        .register_fn("split", move |s: &mut ImmutableString, d: char, n: INT| {
            if n <= 1 {
                return Ok(vec![s.clone().into()]);
            }
            split_char(s, d, segments(n), false, max_items)
        })
        .register_fn(
            "split_rev",
            move |s: &mut ImmutableString, d: ImmutableString| {
                split_str(s, &d, usize::MAX, true, max_items)
            },
        )
        .register_fn(
            "split_rev",
            move |s: &mut ImmutableString, d: ImmutableString, n: INT| {
                if n <= 1 {
                    return Ok(vec![s.clone().into()]);
                }
                split_str(s, &d, segments(n), true, max_items)
            },
        )
        .register_fn("split_rev", move |s: &mut ImmutableString, d: char| {
            split_char(s, d, usize::MAX, true, max_items)
        })
        .register_fn(
            "split_rev",
            move |s: &mut ImmutableString, d: char, n: INT| {
                if n <= 1 {
                    return Ok(vec![s.clone().into()]);
                }
                split_char(s, d, segments(n), true, max_items)
            },
        )
        .register_fn("split", move |s: &mut ImmutableString| -> Checked<Array> {
            if s.is_empty() {
                return Ok(vec![s.clone().into()]);
            }
            pieces_checked(s.split_whitespace().count(), max_items)?;
            Ok(s.split_whitespace().map(Into::into).collect())
        })
        .register_fn(
            "to_chars",
            move |s: &mut ImmutableString| -> Checked<Array> {
                pieces_checked(s.chars().count(), max_items)?;
                Ok(s.chars().map(Dynamic::from).collect())
            },
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_counts_its_result_before_allocating() {
        let mut s = ImmutableString::from("yyyy");
        assert!(replace_checked(&mut s, "y", "abc", 12).is_ok());
        assert_eq!(s.as_str(), "abcabcabcabc");
        let mut s = ImmutableString::from("yyyy");
        assert!(replace_checked(&mut s, "y", "abc", 11).is_err());
        assert_eq!(s.as_str(), "yyyy");
        // Shrinking is always allowed, and an empty pattern matches around every character.
        let mut s = ImmutableString::from("abcabc");
        assert!(replace_checked(&mut s, "abc", "", 1).is_ok());
        assert_eq!(s.as_str(), "");
        let mut s = ImmutableString::from("ab");
        assert!(replace_checked(&mut s, "", "-", 5).is_ok());
        assert_eq!(s.as_str(), "-a-b-");
    }

    #[test]
    fn splits_count_their_pieces_before_allocating() {
        let s = ImmutableString::from("a,b,c");
        assert_eq!(
            split_str(&s, ",", usize::MAX, false, 3)
                .map(|a| a.len())
                .ok(),
            Some(3)
        );
        assert!(split_str(&s, ",", usize::MAX, false, 2).is_err());
        assert_eq!(
            split_str(&s, ",", 2, true, 2).map(|a| a.len()).ok(),
            Some(2)
        );
        // "" splits into an empty piece at each end and one per character.
        assert_eq!(
            split_str(&s, "", usize::MAX, false, 7)
                .map(|a| a.len())
                .ok(),
            Some(7)
        );
        assert!(split_str(&s, "", usize::MAX, false, 6).is_err());
        assert_eq!(
            split_char(&s, ',', usize::MAX, true, 3)
                .map(|a| a.len())
                .ok(),
            Some(3)
        );
    }
}
