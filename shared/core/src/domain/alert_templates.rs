//! The texts of relayed weather alerts and of their end, which staff may edit: minijinja
//! templates over a few French variables, checked when saved so that every alert SMS fits one
//! GSM-7 segment whatever the phenomenon, colour and dates.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;
use minijinja::{context, Environment, UndefinedBehavior};
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
    /// The texts of `message` for `v` in `town`. Templates are checked when saved; one that
    /// still fails (a stored document edited by hand) is an error naming its field.
    pub fn render(
        &self,
        message: AlertMessage,
        town: &str,
        v: &Vigilance,
    ) -> Result<AlertTexts, FieldErrors> {
        let [sms, subject, body] = self.fields(message);
        let mut errors = FieldErrors::new();
        let mut one = |field: &str, source: &str| {
            render_one(source, town, v).unwrap_or_else(|e| {
                errors.add(field, e);
                String::new()
            })
        };
        let texts = AlertTexts {
            sms: one(sms.0, sms.1),
            subject: one(subject.0, subject.1),
            body: one(body.0, body.1),
        };
        if errors.is_empty() {
            Ok(texts)
        } else {
            Err(errors)
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
                if let Some(why) = first_failure(source, town, field == sms.0) {
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

/// How a template fails over every phenomenon and colour: it does not render, or (for an SMS)
/// its text is not one GSM-7 segment — then the longest case is named.
fn first_failure(source: &str, town: &str, is_sms: bool) -> Option<String> {
    let mut longest: Option<(usize, Phenomenon, Colour)> = None;
    for phenomenon in Phenomenon::ALL {
        for colour in [Colour::Yellow, Colour::Orange, Colour::Red] {
            let text = match render_one(source, town, &widest(phenomenon, colour)) {
                Ok(text) => text,
                Err(e) => return Some(e),
            };
            if !is_sms {
                continue;
            }
            let a = analyze(&text);
            if !a.ucs2_characters.is_empty() {
                return Some(format!(
                    "Le SMS contient des caractères hors de l'alphabet GSM-7 ({}), qui le font passer en Unicode : remplacez-les.",
                    a.ucs2_characters.join(" ")
                ));
            }
            if a.segments > 1 && longest.is_none_or(|(length, _, _)| a.length > length) {
                longest = Some((a.length, phenomenon, colour));
            }
        }
    }
    longest.map(|(length, phenomenon, colour)| {
        format!(
            "Le SMS doit tenir en un seul segment (160 caractères GSM-7) : avec « vigilance {} {} », il en fait {length}. Raccourcissez-le.",
            colour.label(),
            phenomenon.label(),
        )
    })
}

/// A vigilance whose dates render as long as any (two-digit days, months and hours).
fn widest(phenomenon: Phenomenon, colour: Colour) -> Vigilance {
    let begins: DateTime<Utc> = "2026-12-31T10:00:00Z".parse().expect("a valid instant");
    Vigilance {
        domain: "3310".into(),
        phenomenon,
        colour,
        begins,
        ends: begins + chrono::Duration::hours(12),
    }
}

fn render_one(source: &str, town: &str, v: &Vigilance) -> Result<String, String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let template = env.template_from_str(source).map_err(explain)?;
    template
        .render(context! {
            ville => town,
            couleur => v.colour.label(),
            phenomene => v.phenomenon.label(),
            debut => paris(v.begins),
            fin => paris(v.ends),
            validite => validity(v),
            consignes => advice(v.phenomenon, v.colour),
        })
        .map(|text| text.trim().to_owned())
        .map_err(explain)
}

/// A template error for staff: unknown variables are named with the list of known ones.
fn explain(e: minijinja::Error) -> String {
    match e.kind() {
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
}
