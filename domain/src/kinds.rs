//! Closed sets shared by several aggregates and by the API: roles, channels, directions, states.
//!
//! Serialized in SCREAMING_SNAKE_CASE, the same spelling as the GraphQL contract's enums, so the
//! stored events, the read models and the API agree on one name for each value.

macro_rules! closed_set {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in the contract's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and API spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the stored and API spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use closed_set;

closed_set!(
    /// What a logged-in principal may do. `Integration` is for channel gateways and flow engines.
    Role { Agent => "AGENT", Supervisor => "SUPERVISOR", Admin => "ADMIN", Integration => "INTEGRATION" }
);

closed_set!(
    /// The channel an attendance runs on.
    ChannelType {
        WhatsappBusinessApi => "WHATSAPP_BUSINESS_API",
        Whatsapp => "WHATSAPP",
        Webchat => "WEBCHAT",
        Email => "EMAIL",
        Telegram => "TELEGRAM",
        Instagram => "INSTAGRAM",
        FacebookMessenger => "FACEBOOK_MESSENGER",
        Sms => "SMS",
    }
);

impl ChannelType {
    /// Channels whose identity is a phone number (E.164), the contact's routing key.
    pub fn is_phone_channel(self) -> bool {
        matches!(self, Self::WhatsappBusinessApi | Self::Whatsapp | Self::Sms)
    }
}

closed_set!(
    /// Opened by the customer (inbound) or by the agent (outbound).
    Direction { Inbound => "INBOUND", Outbound => "OUTBOUND" }
);

closed_set!(
    /// Where an attendance goes when it opens: a bot flow or a human service queue.
    DestinationType { Flow => "FLOW", Service => "SERVICE" }
);

closed_set!(
    /// The life of an attendance.
    AttendanceStatus {
        InFlow => "IN_FLOW",
        Waiting => "WAITING",
        InProgress => "IN_PROGRESS",
        Pending => "PENDING",
        Finalized => "FINALIZED",
    }
);

closed_set!(
    /// Who wrote a message of an attendance.
    MessageAuthor { Contact => "CONTACT", Agent => "AGENT", Flow => "FLOW", System => "SYSTEM" }
);

closed_set!(
    /// An agent's presence.
    PresenceStatus { Offline => "OFFLINE", Online => "ONLINE", Paused => "PAUSED" }
);

closed_set!(
    /// What an address is for.
    AddressType {
        Residential => "RESIDENTIAL",
        Commercial => "COMMERCIAL",
        Billing => "BILLING",
        Delivery => "DELIVERY",
        Other => "OTHER",
    }
);

closed_set!(
    /// The kind of building at an address.
    HouseType {
        House => "HOUSE",
        Apartment => "APARTMENT",
        Condominium => "CONDOMINIUM",
        Commercial => "COMMERCIAL",
        Rural => "RURAL",
        Other => "OTHER",
    }
);

closed_set!(
    /// The event-sourced aggregates, as the audit API names them.
    AggregateKind { Contact => "CONTACT", Attendance => "ATTENDANCE", Agent => "AGENT" }
);
