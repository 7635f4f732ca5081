//! Geographic points (WGS 84 latitude and longitude in degrees).

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// A point on Earth with finite coordinates in range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    latitude: f64,
    longitude: f64,
}

impl GeoPoint {
    /// Errors name the sub-field (`latitude` or `longitude`), as in the contract's `GeoPointInput`.
    pub fn parse(lat: f64, lon: f64) -> Result<Self, FieldError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(FieldError::new("latitude", "must be between -90 and 90"));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(FieldError::new("longitude", "must be between -180 and 180"));
        }
        Ok(Self {
            latitude: lat,
            longitude: lon,
        })
    }

    pub fn latitude(self) -> f64 {
        self.latitude
    }

    pub fn longitude(self) -> f64 {
        self.longitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_in_range_are_accepted() {
        let p = GeoPoint::parse(-23.5614, -46.6559).unwrap();
        assert_eq!((p.latitude(), p.longitude()), (-23.5614, -46.6559));
        assert!(GeoPoint::parse(90.0, -180.0).is_ok());
    }

    #[test]
    fn coordinates_out_of_range_or_not_finite_are_rejected() {
        assert_eq!(GeoPoint::parse(90.1, 0.0).unwrap_err().field, "latitude");
        assert_eq!(
            GeoPoint::parse(f64::NAN, 0.0).unwrap_err().field,
            "latitude"
        );
        assert_eq!(GeoPoint::parse(0.0, -180.5).unwrap_err().field, "longitude");
        assert_eq!(
            GeoPoint::parse(0.0, f64::INFINITY).unwrap_err().field,
            "longitude"
        );
    }

    #[test]
    fn geo_point_round_trips_through_serde() {
        let p = GeoPoint::parse(-23.5, -46.6).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"latitude":-23.5,"longitude":-46.6}"#);
        assert_eq!(serde_json::from_str::<GeoPoint>(&json).unwrap(), p);
    }
}
