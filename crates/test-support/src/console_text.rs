//! Reading a serial console's text the way a person sees it: firmware and boot loaders draw
//! with terminal controls (ISOLINUX moves the cursor between two words of one line, e.g.
//! `iPXE ISO boot \e[12;14H\e[12;15Himage`), so a test looking for a line searches the
//! text with those controls taken out, not the bytes as logged.

/// Where `needle` ends in `raw`, searched after byte `from` of `raw` with terminal controls
/// (escape sequences, other control characters but newline and tab) left out; the byte of
/// `raw` just after its last character, to search again from.
pub fn find_after(raw: &str, from: usize, needle: &str) -> Option<usize> {
    let tail = raw.get(from..)?;
    let (plain, ends) = plain_with_ends(tail);
    let at = plain.find(needle)?;
    let last = at + needle.len();
    // An empty needle is found where the search starts.
    Some(from + if last == 0 { 0 } else { ends[last - 1] })
}

/// `raw` with terminal controls left out.
pub fn plain(raw: &str) -> String {
    plain_with_ends(raw).0
}

/// The plain text and, for each of its bytes, the byte of `raw` just after the character it
/// came from.
fn plain_with_ends(raw: &str) -> (String, Vec<usize>) {
    let mut plain = String::with_capacity(raw.len());
    let mut ends = Vec::with_capacity(raw.len());
    let mut chars = raw.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == '\u{1b}' {
            match chars.peek() {
                // CSI: parameters and intermediates, then one final byte in @..~.
                Some((_, '[')) => {
                    chars.next();
                    for (_, c) in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // Any other escape is one more character (ESC c, ESC 7, ...).
                Some(_) => {
                    chars.next();
                }
                None => {}
            }
            continue;
        }
        if c.is_control() && c != '\n' && c != '\t' {
            continue;
        }
        plain.push(c);
        ends.extend(std::iter::repeat_n(at + c.len_utf8(), c.len_utf8()));
    }
    (plain, ends)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line CI saw ISOLINUX draw in two pieces.
    const SPLIT: &str = "ISOLINUX 6.04\r\niPXE ISO boot \u{1b}[12;14H\u{1b}[12;15Himage\r\nLoading";

    #[test]
    fn a_line_drawn_in_pieces_is_found() {
        assert!(!SPLIT.contains("iPXE ISO boot image"));
        let end = find_after(SPLIT, 0, "iPXE ISO boot image").expect("found");
        assert_eq!(end, SPLIT.find("image").unwrap() + "image".len());
    }

    #[test]
    fn the_search_starts_at_from_and_returns_a_raw_offset() {
        let raw = "\u{1b}cA-MARK\u{1b}[0m then A-MARK again";
        let first = find_after(raw, 0, "A-MARK").unwrap();
        assert_eq!(&raw[..first], "\u{1b}cA-MARK");
        let second = find_after(raw, first, "A-MARK").unwrap();
        assert_eq!(second, raw.len() - " again".len());
        assert_eq!(find_after(raw, second, "A-MARK"), None);
        assert_eq!(find_after(raw, raw.len() + 1, "A"), None);
    }

    #[test]
    fn controls_are_left_out_and_text_kept() {
        assert_eq!(
            plain("\u{1b}[?7l\u{1b}[2J\u{1b}[0mSeaBIOS\r\n\u{1b}[0;1miPXE\u{1b}[0m ok\té"),
            "SeaBIOS\niPXE ok\té"
        );
    }
}
