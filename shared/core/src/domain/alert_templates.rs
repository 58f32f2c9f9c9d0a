//! The texts of relayed weather alerts and of their end, which staff may edit: minijinja
//! templates over a few French variables, checked when saved so that every alert SMS fits one
//! GSM-7 segment whatever the phenomenon, colour and dates.

use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Europe::Paris;
use minijinja::machinery::{tokenize, Token, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;
use minijinja::{context, filters, Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use crate::domain::sms::analyze;
use crate::domain::weather::{Colour, Phenomenon, Vigilance};
use crate::error::FieldErrors;

/// The variables a template may use (shown to staff with the templates).
pub const VARIABLES: [&str; 7] = [
    "ville",
    "couleur",
    "phenomene",
    "debut",
    "fin",
    "validite",
    "consignes",
];

/// The texts of an alert and of its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertTemplates {
    /// The alert's SMS: one GSM-7 segment.
    pub alert_sms: String,
    /// The alert email's subject.
    pub alert_subject: String,
    /// The alert email's body, in Markdown.
    pub alert_body: String,
    /// Whether the end of a relayed alert is announced.
    pub end_notice: bool,
    /// The end's SMS: one GSM-7 segment.
    pub end_sms: String,
    /// The end email's subject.
    pub end_subject: String,
    /// The end email's body, in Markdown.
    pub end_body: String,
}

impl Default for AlertTemplates {
    fn default() -> Self {
        Self {
            alert_sms: "Ville d'{{ ville }} : vigilance {{ couleur }} {{ phenomene }} {{ validite }}. Suivez les consignes de sécurité.".into(),
            alert_subject: "Vigilance {{ couleur }} {{ phenomene }} à {{ ville }}".into(),
            alert_body: "**Météo-France place le secteur en vigilance {{ couleur }} {{ phenomene }}**, {{ validite }}.\n\n{{ consignes }}\n\nSuivez l'évolution sur vigilance.meteofrance.fr et les consignes des autorités.".into(),
            end_notice: true,
            end_sms: "Ville d'{{ ville }} : fin de la vigilance {{ couleur }} {{ phenomene }}. Restez prudents.".into(),
            end_subject: "Fin de la vigilance {{ couleur }} {{ phenomene }} à {{ ville }}".into(),
            end_body: "**Météo-France a levé la vigilance {{ couleur }} {{ phenomene }}** sur le secteur (elle était annoncée {{ validite }}).\n\nRestez prudents : des dégâts ou des routes encore coupées sont possibles. Suivez les consignes des autorités.".into(),
        }
    }
}

/// A template and the name of its field.
type Field<'a> = (&'static str, &'a str);

/// An alert's texts, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertTexts {
    pub sms: String,
    /// Email subject.
    pub subject: String,
    /// Email body, in Markdown.
    pub body: String,
}

/// Which message of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertMessage {
    /// The alert itself.
    Alert,
    /// Its end.
    End,
}

impl AlertTemplates {
    /// The texts of `message` for `v` in `town`: each renders within the sandbox's limits, is
    /// not empty, the SMS fits one GSM-7 segment and the subject one line. Templates are
    /// checked when saved; one that still fails (a date the check did not try, a document saved
    /// by an older version) is an error naming its field.
    pub fn render(
        &self,
        message: AlertMessage,
        town: &str,
        v: &Vigilance,
    ) -> Result<AlertTexts, FieldErrors> {
        let [sms, subject, body] = self.fields(message);
        let mut errors = FieldErrors::new();
        let mut one = |(field, source): Field<'_>| {
            Sandbox::compile(source)
                .and_then(|template| template.render(town, v))
                .and_then(|text| sendable(field, text))
                .unwrap_or_else(|e| {
                    errors.add(field, e);
                    String::new()
                })
        };
        let texts = AlertTexts {
            sms: one(sms),
            subject: one(subject),
            body: one(body),
        };
        if errors.is_empty() {
            Ok(texts)
        } else {
            Err(errors)
        }
    }

    /// The texts the relay sends: the staff's, or — when theirs fail for this alert — the
    /// built-in ones, with why the staff's were set aside (French, naming the fields). An alert
    /// never fails to go out because of a staff template.
    pub fn render_for_relay(
        &self,
        message: AlertMessage,
        town: &str,
        v: &Vigilance,
    ) -> Result<(AlertTexts, Option<String>), FieldErrors> {
        match self.render(message, town, v) {
            Ok(texts) => Ok((texts, None)),
            Err(errors) => {
                let texts = Self::default().render(message, town, v)?;
                Ok((texts, Some(set_aside(&errors))))
            }
        }
    }

    /// Checks every template: each renders, each SMS fits one GSM-7 segment for every phenomenon
    /// and colour relayed in `town`, subjects stay on one line. Errors name the field, in French.
    pub fn check(&self, town: &str) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        for message in [AlertMessage::Alert, AlertMessage::End] {
            let [sms, subject, body] = self.fields(message);
            for (field, source) in [sms, subject, body] {
                if source.trim().is_empty() {
                    errors.add(field, "Ce texte est obligatoire.");
                    continue;
                }
                if source.chars().count() > 5_000 {
                    errors.add(field, "Ce texte dépasse 5 000 caractères.");
                    continue;
                }
                if let Some(why) = first_failure(field, source, town) {
                    errors.add(field, why);
                }
            }
            if subject.1.contains('\n') {
                errors.add(subject.0, "L'objet tient sur une seule ligne.");
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The (field name, template) of a message's SMS, subject and body.
    fn fields(&self, message: AlertMessage) -> [Field<'_>; 3] {
        match message {
            AlertMessage::Alert => [
                ("alert_sms", &self.alert_sms),
                ("alert_subject", &self.alert_subject),
                ("alert_body", &self.alert_body),
            ],
            AlertMessage::End => [
                ("end_sms", &self.end_sms),
                ("end_subject", &self.end_subject),
                ("end_body", &self.end_body),
            ],
        }
    }
}

/// `text` if the relay can send it: not empty, an SMS in one GSM-7 segment, a subject on one
/// line.
fn sendable(field: &str, text: String) -> Result<String, String> {
    if text.is_empty() {
        return Err("Ce texte est vide pour cette vigilance.".into());
    }
    if field.ends_with("_subject") && text.contains('\n') {
        return Err("L'objet tient sur une seule ligne.".into());
    }
    let a = analyze(&text);
    if field.ends_with("_sms") && (a.segments > 1 || !a.ucs2_characters.is_empty()) {
        return Err(format!(
            "Le SMS ferait {} caractères en {} segments{} : il doit tenir en un seul segment GSM-7.",
            a.length,
            a.segments,
            if a.ucs2_characters.is_empty() { "" } else { " Unicode" },
        ));
    }
    Ok(text)
}

/// Why staff templates were set aside for one alert: each field and its problem.
pub fn set_aside(errors: &FieldErrors) -> String {
    let problems: Vec<String> = errors
        .iter()
        .map(|(field, why)| format!("{field} : {why}"))
        .collect();
    format!(
        "modèle de la Ville écarté pour ce message, texte intégré utilisé ({})",
        problems.join(" ; ")
    )
}

/// How a template fails over every case it may meet: it does not render within the limits, its
/// text is empty, or (for an SMS) its text is not one GSM-7 segment — then the longest case is
/// named.
fn first_failure(field: &str, source: &str, town: &str) -> Option<String> {
    let template = match Sandbox::compile(source) {
        Ok(template) => template,
        Err(why) => return Some(why),
    };
    let mut longest: Option<(usize, Vigilance)> = None;
    for v in cases() {
        let text = match template.render(town, &v) {
            Ok(text) => text,
            Err(why) => return Some(why),
        };
        if !field.ends_with("_sms") {
            match sendable(field, text) {
                Ok(_) => continue,
                Err(why) => return Some(why),
            }
        }
        if text.is_empty() {
            return sendable(field, text).err();
        }
        let a = analyze(&text);
        if !a.ucs2_characters.is_empty() {
            return Some(format!(
                "Le SMS contient des caractères hors de l'alphabet GSM-7 ({}), qui le font passer en Unicode : remplacez-les.",
                a.ucs2_characters.join(" ")
            ));
        }
        if a.segments > 1
            && longest
                .as_ref()
                .is_none_or(|(length, _)| a.length > *length)
        {
            longest = Some((a.length, v));
        }
    }
    longest.map(|(length, v)| {
        format!(
            "Le SMS doit tenir en un seul segment (160 caractères GSM-7) : avec « vigilance {} {} » {}, il en fait {length}. Raccourcissez-le.",
            v.colour.label(),
            v.phenomenon.label(),
            validity(&v),
        )
    })
}

/// When the alerts a template is checked with begin (UTC) and how many hours they last: ends of
/// day, month and year, both sides of both daylight-saving changes, a leap day. A template may still branch on a date not listed: the relay checks each text again
/// and falls back to the built-in one ([`AlertTemplates::render_for_relay`]).
const INSTANTS: [(&str, i64); 9] = [
    ("2026-12-31T10:00:00Z", 12),
    ("2026-12-31T22:30:00Z", 3),
    ("2027-01-01T05:00:00Z", 30),
    ("2027-03-28T00:30:00Z", 6),
    ("2027-03-28T01:30:00Z", 1),
    ("2026-10-25T00:30:00Z", 1),
    ("2026-10-25T01:30:00Z", 24),
    ("2028-02-29T11:00:00Z", 48),
    ("2027-07-14T21:59:00Z", 72),
];

/// Every case a template is checked with: each instant, phenomenon and colour relayed.
fn cases() -> impl Iterator<Item = Vigilance> {
    INSTANTS.into_iter().flat_map(|(begins, hours)| {
        let begins: DateTime<Utc> = begins.parse().unwrap_or_default();
        Phenomenon::ALL.into_iter().flat_map(move |phenomenon| {
            [Colour::Yellow, Colour::Orange, Colour::Red].map(|colour| Vigilance {
                domain: "3310".into(),
                phenomenon,
                colour,
                begins,
                ends: begins + chrono::Duration::hours(hours),
            })
        })
    })
}

/// Instructions one rendering may run: a template runs a few per variable or condition (the
/// longest allowed needs a few thousand); a hostile one stops within milliseconds.
const FUEL: u64 = 20_000;
/// How deep a rendering may recurse: conditions do not, but this bounds whatever minijinja
/// counts (its parser has its own limit on nesting).
const RECURSION_LIMIT: usize = 30;
/// Longest rendered text, in bytes (an email body's own limit is 100 000 characters).
const MAX_OUTPUT: usize = 100_000;
/// The only statements a template may hold: conditions. Loops, assignments, macros and blocks
/// could run long or build a text of any size (a string doubled in a loop), and no alert
/// needs them.
const STATEMENTS: [&str; 4] = ["if", "elif", "else", "endif"];

/// The filters a template may use, each keeping its text's length.
const FILTERS: [&str; 5] = ["upper", "lower", "capitalize", "title", "trim"];

/// A staff template compiled with no functions, only filters that keep a text's length, no
/// statement but conditions and no repetition, and run with fuel, a recursion limit and a
/// bounded output: whatever staff write, one rendering ends quickly in bounded memory.
struct Sandbox<'s> {
    env: Environment<'s>,
}

impl<'s> Sandbox<'s> {
    /// Compiles `source`, or says in French why it cannot be used.
    fn compile(source: &'s str) -> Result<Self, String> {
        allowed_constructs(source)?;
        let mut env = Environment::empty();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(RECURSION_LIMIT);
        env.add_filter(FILTERS[0], filters::upper);
        env.add_filter(FILTERS[1], filters::lower);
        env.add_filter(FILTERS[2], filters::capitalize);
        env.add_filter(FILTERS[3], filters::title);
        env.add_filter(FILTERS[4], filters::trim);
        env.add_template("modele", source).map_err(explain)?;
        Ok(Self { env })
    }

    /// The text for `v` in `town`, trimmed.
    fn render(&self, town: &str, v: &Vigilance) -> Result<String, String> {
        let template = self.env.get_template("modele").map_err(explain)?;
        let mut out = CappedOutput::default();
        let rendered = template.render_captured_to(
            context! {
                ville => town,
                couleur => v.colour.label(),
                phenomene => v.phenomenon.label(),
                debut => paris(v.begins),
                fin => paris(v.ends),
                validite => validity(v),
                consignes => advice(v.phenomenon, v.colour),
            },
            &mut out,
        );
        match rendered {
            Err(_) if out.overflowed => {
                Err("Le texte produit dépasse 100 000 caractères : raccourcissez-le.".into())
            }
            Err(e) => Err(explain(e)),
            Ok(_) => Ok(String::from_utf8_lossy(&out.bytes).trim().to_owned()),
        }
    }
}

/// Refuses, before it runs, a template with a statement other than a condition or with a
/// multiplication (`"x" * 99999999` builds a string of 100 MB). Read with minijinja's own
/// lexer, so that what is checked is what would run.
// `SyntaxConfig` is a unit struct only while no crate enables minijinja's `custom_syntax`.
#[allow(clippy::default_constructed_unit_structs)]
fn allowed_constructs(source: &str) -> Result<(), String> {
    let tokens = tokenize(
        source,
        false,
        SyntaxConfig::default(),
        WhitespaceConfig::default(),
    );
    let mut statement_next = false;
    for token in tokens {
        let (token, _) = token.map_err(explain)?;
        if statement_next {
            let name = match token {
                Token::Ident(name) => name,
                _ => "",
            };
            if !STATEMENTS.contains(&name) {
                return Err(format!(
                    "Seules les conditions {{% if %}} … {{% endif %}} sont permises dans ce texte (pas de boucle, d'affectation ni de macro) : « {{% {name} %}} » est refusé."
                ));
            }
        }
        if matches!(token, Token::Mul | Token::Pow) {
            return Err("La multiplication n'est pas permise dans ce texte.".into());
        }
        statement_next = matches!(token, Token::BlockStart);
    }
    Ok(())
}

/// Keeps at most [`MAX_OUTPUT`] bytes of a rendering, then refuses the rest.
#[derive(Default)]
struct CappedOutput {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl std::io::Write for CappedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_OUTPUT {
            self.overflowed = true;
            return Err(std::io::Error::other("rendered text too long"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A template error for staff: unknown variables are named with the list of known ones.
fn explain(e: minijinja::Error) -> String {
    match e.kind() {
        minijinja::ErrorKind::OutOfFuel => {
            "Ce texte demande trop de calculs : simplifiez ses conditions.".into()
        }
        minijinja::ErrorKind::UnknownFilter => format!(
            "Filtre inconnu dans le texte (filtres possibles : {}).",
            FILTERS.join(", ")
        ),
        minijinja::ErrorKind::UndefinedError => format!(
            "Variable inconnue dans le texte (variables possibles : {}).",
            VARIABLES.map(|v| format!("{{{{ {v} }}}}")).join(", ")
        ),
        _ => format!(
            "Texte illisible : {} (les variables s'écrivent {{{{ ville }}}}).",
            e.detail().unwrap_or("modèle mal formé")
        ),
    }
}

/// `01/12 à 06 h`, Paris time.
fn paris(t: DateTime<Utc>) -> String {
    t.with_timezone(&Paris).format("%d/%m à %H h").to_string()
}

/// `du 01/12 à 06 h au 01/12 à 16 h`, Paris time.
pub fn validity(v: &Vigilance) -> String {
    format!("du {} au {}", paris(v.begins), paris(v.ends))
}

/// « 1 décembre à 6 heures », Paris time, as a voice reads it.
fn spoken_time(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Paris);
    let hour = match local.hour() {
        0 => "minuit".to_owned(),
        12 => "midi".to_owned(),
        1 => "1 heure".to_owned(),
        h => format!("{h} heures"),
    };
    format!(
        "{} à {hour}",
        crate::clock::day_and_month(local.date_naive())
    )
}

/// What a relayed alert's voice call says (the call adds the town's name first and says it
/// twice): the vigilance, when, and Météo-France's advice; no link, no abbreviation, dates as
/// a voice reads them. Staff templates are for the written texts; this one is fixed.
pub fn spoken_alert(v: &Vigilance) -> String {
    format!(
        "Météo-France place le secteur en vigilance {} {}, du {} au {}. {}",
        v.colour,
        v.phenomenon.label(),
        spoken_time(v.begins),
        spoken_time(v.ends),
        advice(v.phenomenon, v.colour)
    )
}

/// Météo-France's safety advice for a phenomenon at orange or red, shortened.
pub fn advice(phenomenon: Phenomenon, colour: Colour) -> &'static str {
    let red = colour >= Colour::Red;
    match (phenomenon, red) {
        (Phenomenon::Wind, false) => "Limitez vos déplacements. Ne vous promenez pas en forêt ni sur le front de mer. Rangez ou fixez les objets susceptibles d'être emportés.",
        (Phenomenon::Wind, true) => "Restez chez vous et évitez tout déplacement. Mettez-vous à l'abri dans un bâtiment, loin des fenêtres. Ne touchez pas aux fils électriques tombés au sol.",
        (Phenomenon::RainFlood | Phenomenon::Flood, false) => "Ne vous engagez pas, à pied ni en voiture, sur une route immergée. Éloignez-vous des cours d'eau. Mettez vos biens à l'abri de la montée des eaux.",
        (Phenomenon::RainFlood | Phenomenon::Flood, true) => "Évitez tout déplacement. Réfugiez-vous dans un étage ou un point haut. Ne descendez pas dans les sous-sols et tenez-vous prêts à évacuer sur ordre des autorités.",
        (Phenomenon::Storms, false) => "Abritez-vous hors des zones boisées, évitez les activités extérieures et l'usage du téléphone fixe. Ne vous abritez pas sous un arbre.",
        (Phenomenon::Storms, true) => "Évitez tout déplacement et restez à l'abri dans un bâtiment. Débranchez les appareils électriques. Ne vous abritez pas sous un arbre.",
        (Phenomenon::SnowIce, false) => "Limitez vos déplacements, renseignez-vous sur l'état des routes, équipez votre véhicule.",
        (Phenomenon::SnowIce, true) => "Restez chez vous et n'entreprenez aucun déplacement. Protégez-vous du froid.",
        (Phenomenon::Heat, false) => "Buvez régulièrement de l'eau, mouillez-vous le corps, évitez les efforts aux heures chaudes et prenez des nouvelles des personnes fragiles.",
        (Phenomenon::Heat, true) => "Restez au frais, buvez de l'eau, ne faites aucun effort physique et prenez des nouvelles de vos proches fragiles. Appelez le 15 en cas de malaise.",
        (Phenomenon::Cold, false) => "Évitez les expositions prolongées au froid, habillez-vous chaudement et prenez des nouvelles des personnes fragiles.",
        (Phenomenon::Cold, true) => "Restez à l'intérieur autant que possible, chauffez-vous sans surchauffer et sans appareil de fortune. Signalez les personnes sans abri au 115.",
        (Phenomenon::WavesSubmersion, false) => "Éloignez-vous du littoral et des digues. Ne vous baignez pas, ne pratiquez pas d'activité nautique, ne vous promenez pas sur le front de mer.",
        (Phenomenon::WavesSubmersion, true) => "Évitez tout déplacement près du littoral. Mettez-vous à l'abri dans un étage et tenez-vous prêts à évacuer sur ordre des autorités.",
        (Phenomenon::Avalanches, _) => "Respectez les consignes des autorités et renoncez aux sorties en montagne hors des pistes ouvertes.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vigilance(phenomenon: Phenomenon, colour: Colour) -> Vigilance {
        let begins: DateTime<Utc> = "2026-12-01T05:00:00Z".parse().unwrap();
        Vigilance {
            domain: "3310".into(),
            phenomenon,
            colour,
            begins,
            ends: begins + chrono::Duration::hours(10),
        }
    }

    #[test]
    fn a_relayed_alert_is_spoken_with_dates_for_the_ear_and_fits_a_call() {
        let v = vigilance(Phenomenon::WavesSubmersion, Colour::Red);
        assert_eq!(
            spoken_alert(&v),
            "Météo-France place le secteur en vigilance rouge vagues-submersion, du 1er décembre à 6 heures au 1er décembre à 16 heures. Évitez tout déplacement près du littoral. Mettez-vous à l'abri dans un étage et tenez-vous prêts à évacuer sur ordre des autorités."
        );
        let midnight = Vigilance {
            begins: "2026-07-14T22:00:00Z".parse().unwrap(),
            ends: "2026-07-15T10:00:00Z".parse().unwrap(),
            ..vigilance(Phenomenon::Heat, Colour::Orange)
        };
        assert!(spoken_alert(&midnight).contains("du 15 juillet à minuit au 15 juillet à midi"));
        // Every phenomenon and colour is a valid spoken text: no link, within the limit
        for p in Phenomenon::ALL {
            for c in [Colour::Yellow, Colour::Orange, Colour::Red] {
                let text = spoken_alert(&vigilance(p, c));
                let mut errors = FieldErrors::default();
                crate::domain::campaign::parse_voice(
                    &crate::domain::campaign::VoiceInput {
                        text: Some(text.clone()),
                    },
                    &mut errors,
                );
                assert!(errors.is_empty(), "{text}: {errors:?}");
            }
        }
    }

    #[test]
    fn the_default_templates_pass_their_own_check_and_name_everything() {
        let t = AlertTemplates::default();
        assert_eq!(t.check("Arcachon"), Ok(()));
        assert_eq!(t.check("Saint-Jean-de-Luz"), Ok(()));
        let v = vigilance(Phenomenon::WavesSubmersion, Colour::Red);
        let texts = t.render(AlertMessage::Alert, "Arcachon", &v).unwrap();
        assert_eq!(
            texts.sms,
            "Ville d'Arcachon : vigilance rouge vagues-submersion du 01/12 à 06 h au 01/12 à 16 h. Suivez les consignes de sécurité."
        );
        assert_eq!(
            texts.subject,
            "Vigilance rouge vagues-submersion à Arcachon"
        );
        assert!(
            texts.body.contains("du 01/12 à 06 h au 01/12 à 16 h"),
            "Paris time"
        );
        assert!(texts
            .body
            .contains(advice(Phenomenon::WavesSubmersion, Colour::Red)));
        let end = t.render(AlertMessage::End, "Arcachon", &v).unwrap();
        assert!(end
            .sms
            .contains("fin de la vigilance rouge vagues-submersion"));
    }

    #[test]
    fn an_sms_longer_than_one_segment_is_refused_naming_the_worst_case() {
        let t = AlertTemplates {
            alert_sms: format!("{} {{{{ phenomene }}}}", "x".repeat(143)),
            ..AlertTemplates::default()
        };
        let errors = t.check("Arcachon").unwrap_err();
        let message = errors.get("alert_sms").unwrap();
        assert!(message.contains("un seul segment"), "{message}");
        assert!(message.contains("vagues-submersion"), "{message}");
        assert!(message.contains("161"), "{message}");
        assert!(errors.get("end_sms").is_none());
    }

    #[test]
    fn characters_outside_gsm7_and_unknown_variables_are_refused() {
        let t = AlertTemplates {
            end_sms: "Fin d'alerte ! Vous êtes en sécurité".into(),
            alert_subject: "Alerte {{ commune }}".into(),
            alert_body: "{% if %}".into(),
            end_subject: "Fin\nd'alerte".into(),
            ..AlertTemplates::default()
        };
        let errors = t.check("Arcachon").unwrap_err();
        assert!(errors.get("end_sms").unwrap().contains("ê"));
        assert!(errors.get("alert_subject").unwrap().contains("{{ ville }}"));
        assert!(errors.get("alert_body").unwrap().contains("illisible"));
        assert!(errors
            .get("end_subject")
            .unwrap()
            .contains("une seule ligne"));
        let empty = AlertTemplates {
            alert_sms: "  ".into(),
            ..AlertTemplates::default()
        };
        assert!(empty
            .check("Arcachon")
            .unwrap_err()
            .get("alert_sms")
            .is_some());
    }

    #[test]
    fn loops_assignments_and_repetition_are_refused_before_they_run() {
        let nested =
            "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}";
        let doubled =
            "{% set s = consignes %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}{{ s }}";
        for (source, refused) in [
            (nested, "{% for %}"),
            (doubled, "{% set %}"),
            ("{%- macro m() %}{% endmacro %}", "{% macro %}"),
            ("{% with s = ville %}{% endwith %}", "{% with %}"),
            ("{% filter upper %}x{% endfilter %}", "{% filter %}"),
        ] {
            let why = Sandbox::compile(source).err().unwrap();
            assert!(why.contains("Seules les conditions"), "{why}");
            assert!(why.contains(refused), "{why}");
        }
        let why = Sandbox::compile("{{ (consignes * 99999999) ~ ville }}")
            .err()
            .unwrap();
        assert!(why.contains("multiplication"), "{why}");
        // Words in the text, and conditions, are fine
        let ok = "Pour tout {% if couleur == \"rouge\" %}*URGENT*{% else %}info{% endif %} {{ ville|upper }}";
        let v = vigilance(Phenomenon::Wind, Colour::Red);
        assert_eq!(
            Sandbox::compile(ok)
                .unwrap()
                .render("Arcachon", &v)
                .unwrap(),
            "Pour tout *URGENT* ARCACHON"
        );
    }

    #[test]
    fn a_rendering_stops_at_its_fuel_its_output_limit_and_its_nesting_limit() {
        let v = vigilance(Phenomenon::Wind, Colour::Red);
        let run = |source: &str| Sandbox::compile(source).and_then(|t| t.render("A", &v));
        let long_running = "{{ ville }}".repeat(15_000);
        assert!(run(&long_running).unwrap_err().contains("trop de calculs"));
        let huge = "{{ consignes }}".repeat(1_000);
        assert!(run(&huge).unwrap_err().contains("100 000 caractères"));
        // Nesting beyond minijinja's parser limit is refused before it runs
        let deep = format!(
            "{}x{}",
            "{% if true %}".repeat(200),
            "{% endif %}".repeat(200)
        );
        assert!(run(&deep).unwrap_err().contains("illisible"));
        assert!(run(&"{{ ville }}".repeat(1_000)).is_ok());
    }

    #[test]
    fn a_template_branching_on_the_dates_is_checked_at_every_instant_that_matters() {
        let long = format!("{} {{{{ phenomene }}}}", "x".repeat(143));
        for branch in [
            "debut == \"31/12 à 11 h\"",
            "fin[:2] != \"28\"",
            "debut[8:10] != \"03\"",
        ] {
            let t = AlertTemplates {
                alert_sms: format!("{{% if {branch} %}}Court.{{% else %}}{long}{{% endif %}}"),
                ..AlertTemplates::default()
            };
            let errors = t.check("Arcachon").unwrap_err();
            assert!(
                errors.get("alert_sms").unwrap().contains("un seul segment"),
                "{branch}: {errors:?}"
            );
        }
    }

    #[test]
    fn the_relay_falls_back_to_the_built_in_texts_when_a_staff_template_fails() {
        // Branches on a date no check tries, and names an unknown variable in the body.
        let t = AlertTemplates {
            alert_sms: "{% if debut[:2] == \"01\" %}Vous êtes prié de rester chez vous : {{ consignes }}{% else %}Alerte.{% endif %}".into(),
            alert_body: "{{ consignes }} {{ inconnue }}".into(),
            ..AlertTemplates::default()
        };
        let v = vigilance(Phenomenon::Wind, Colour::Red);
        let (texts, why) = t
            .render_for_relay(AlertMessage::Alert, "Arcachon", &v)
            .unwrap();
        let built_in = AlertTemplates::default()
            .render(AlertMessage::Alert, "Arcachon", &v)
            .unwrap();
        assert_eq!(texts, built_in);
        let why = why.unwrap();
        assert!(why.contains("alert_sms : Le SMS ferait"), "{why}");
        assert!(why.contains("Unicode"), "{why}");
        assert!(why.contains("alert_body : Variable inconnue"), "{why}");
        // The staff's texts are kept when they work
        let (_, why) = AlertTemplates::default()
            .render_for_relay(AlertMessage::End, "Arcachon", &v)
            .unwrap();
        assert_eq!(why, None);
    }
}
