//! Linear conversion between a sensor's raw one-byte reading and its value in units (IPMI 2.0
//! section 36.3): `value = (M * raw + B * 10^Bexp) * 10^Rexp`, the factors a full sensor record
//! and Get Sensor Reading Factors carry (M and B 10-bit two's complement, the exponents 4-bit).

use crate::types::ParseError;

/// The conversion factors of a linear sensor with an unsigned raw reading. Tolerance and
/// accuracy are not modelled (encoded as 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linear {
    /// Multiplier M (-512..=511).
    pub m: i16,
    /// Offset B (-512..=511).
    pub b: i16,
    /// Exponent of B (-8..=7).
    pub b_exp: i8,
    /// Result exponent R (-8..=7).
    pub r_exp: i8,
}

impl Linear {
    /// Factors whose 255 steps span at least `0..=max` with a round step (1, 2 or 5 times a
    /// power of ten), so that readings print as round numbers.
    pub fn spanning(max: f64) -> Linear {
        let want = if max.is_finite() && max > 0.0 {
            max / 255.0
        } else {
            1.0
        };
        for r_exp in -8i8..=7 {
            for m in [1i16, 2, 5] {
                if f64::from(m) * 10f64.powi(r_exp.into()) >= want * (1.0 - 1e-9) {
                    return Linear {
                        m,
                        b: 0,
                        b_exp: 0,
                        r_exp,
                    };
                }
            }
        }
        Linear {
            m: 500,
            b: 0,
            b_exp: 0,
            r_exp: 7,
        }
    }

    /// The value of a raw reading.
    pub fn value(&self, raw: u8) -> f64 {
        (f64::from(self.m) * f64::from(raw) + f64::from(self.b) * 10f64.powi(self.b_exp.into()))
            * 10f64.powi(self.r_exp.into())
    }

    /// The raw reading closest to `value`, clamped to 0..=255.
    pub fn raw(&self, value: f64) -> u8 {
        if self.m == 0 || !value.is_finite() {
            return 0;
        }
        let raw = (value / 10f64.powi(self.r_exp.into())
            - f64::from(self.b) * 10f64.powi(self.b_exp.into()))
            / f64::from(self.m);
        raw.round().clamp(0.0, 255.0) as u8
    }

    /// The raw count of a difference (hysteresis) of `delta` units, clamped to 0..=255.
    pub fn steps(&self, delta: f64) -> u8 {
        let step = f64::from(self.m) * 10f64.powi(self.r_exp.into());
        if step <= 0.0 || !delta.is_finite() {
            return 0;
        }
        (delta / step).round().clamp(0.0, 255.0) as u8
    }

    /// The six bytes of a full sensor record (bytes 25-30) or of Get Sensor Reading Factors: M,
    /// M/tolerance, B, B/accuracy, accuracy/direction, R and B exponents.
    pub fn to_bytes(&self) -> [u8; 6] {
        let m = (self.m as u16) & 0x3ff;
        let b = (self.b as u16) & 0x3ff;
        [
            m as u8,
            ((m >> 8) as u8) << 6,
            b as u8,
            ((b >> 8) as u8) << 6,
            0,
            (((self.r_exp as u8) & 0x0f) << 4) | ((self.b_exp as u8) & 0x0f),
        ]
    }

    /// Decodes the six factor bytes (tolerance and accuracy are dropped).
    pub fn from_bytes(d: &[u8]) -> Result<Linear, ParseError> {
        let d: [u8; 6] = d.try_into().map_err(|_| ParseError::Length)?;
        let ten_bits = |lo: u8, hi: u8| {
            let v = u16::from(lo) | (u16::from(hi >> 6) << 8);
            // Sign-extend 10 bits.
            ((v << 6) as i16) >> 6
        };
        let four_bits = |v: u8| ((v << 4) as i8) >> 4;
        Ok(Linear {
            m: ten_bits(d[0], d[1]),
            b: ten_bits(d[2], d[3]),
            r_exp: four_bits(d[5] >> 4),
            b_exp: four_bits(d[5] & 0x0f),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_pick_round_steps() {
        assert_eq!(
            Linear::spanning(255.0),
            Linear {
                m: 1,
                b: 0,
                b_exp: 0,
                r_exp: 0
            }
        );
        let volts = Linear::spanning(14.5);
        assert_eq!((volts.m, volts.r_exp), (1, -1));
        assert_eq!(volts.raw(12.05), 121);
        assert!((volts.value(121) - 12.1).abs() < 1e-9);
        let rpm = Linear::spanning(10_000.0);
        assert_eq!((rpm.m, rpm.r_exp), (5, 1));
        assert_eq!(rpm.raw(1_000_000.0), 255);
        assert_eq!(rpm.raw(-3.0), 0);
        assert_eq!(rpm.steps(100.0), 2);
    }

    #[test]
    fn factor_bytes_round_trip_with_signs() {
        for l in [
            Linear {
                m: -3,
                b: -512,
                b_exp: -8,
                r_exp: 7,
            },
            Linear {
                m: 511,
                b: 1,
                b_exp: 3,
                r_exp: -2,
            },
        ] {
            assert_eq!(Linear::from_bytes(&l.to_bytes()).unwrap(), l);
        }
        // M = 0x105 (261), B = 0, Rexp = -2: as in table 43-1.
        let l = Linear::from_bytes(&[0x05, 0x40, 0, 0, 0, 0xe0]).unwrap();
        assert_eq!((l.m, l.r_exp), (261, -2));
    }
}
