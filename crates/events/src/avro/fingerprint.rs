use std::fmt;
use std::str::FromStr;

use apache_avro::Schema;
use apache_avro::rabin::Rabin;

/// A schema's CRC-64-AVRO (Rabin) fingerprint of its Parsing Canonical Form, as the
/// single-object encoding carries it (8 bytes, little-endian). Written as 16 hex digits in
/// that byte order: the key of the schema's record on `order.schemas`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub [u8; 8]);

impl Fingerprint {
    pub fn of(schema: &Schema) -> Self {
        let bytes = schema.fingerprint::<Rabin>().bytes;
        Fingerprint(
            bytes
                .as_slice()
                .try_into()
                .expect("a Rabin fingerprint has 8 bytes"),
        )
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Not 16 hex digits.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a schema fingerprint (16 hex digits)")]
pub struct BadFingerprint(String);

impl FromStr for Fingerprint {
    type Err = BadFingerprint;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadFingerprint(text.to_owned());
        if text.len() != 16 || !text.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0; 8];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Fingerprint(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_the_specifications_fingerprint_in_little_endian_order() {
        // The Avro specification's CRC-64-AVRO of the schema "int" is 0x7275d51a3f395c8f
        // (Java's SchemaNormalization.parsingFingerprint64): little-endian on the wire.
        let int = Schema::parse_str(r#""int""#).unwrap();
        assert_eq!(Fingerprint::of(&int).to_string(), "8f5c393f1ad57572");
    }

    #[test]
    fn reads_back_what_it_writes_and_nothing_else() {
        let fingerprint: Fingerprint = "8f5c393f1ad57572".parse().unwrap();
        assert_eq!(fingerprint.to_string(), "8f5c393f1ad57572");
        for bad in [
            "",
            "8f5c393f1ad5757",
            "8f5c393f1ad5757z",
            "8f5c393f1ad575720",
            "ü5c393f1ad5757",
        ] {
            assert!(bad.parse::<Fingerprint>().is_err(), "{bad}");
        }
    }
}
