//! The subscriber file as spreadsheets see it: checking an import, writing an export.
//!
//! Staff keep the town's list in Excel or LibreOffice. This module turns such a file into
//! validated sign-ups ([`check_import`]) without writing anything, so staff see every refused
//! line before deciding, and writes the subscriber list back in a form those programs open
//! correctly ([`export_csv`]).
//!
//! # Import format
//!
//! **Encoding.** UTF-8, with or without a byte-order mark, or Windows-1252 (what French Excel
//! writes by default). A file that is not valid UTF-8 is read as Windows-1252. A file that
//! starts with a byte-order mark (UTF-8 or UTF-16) is read in the encoding the mark declares;
//! any invalid bytes in it become `�`, so they show up in the refused values.
//!
//! **Separator.** `;` or `,`, detected from the header line: more `;` than `,` means `;`,
//! otherwise `,`. Cells may be quoted with `"` (a quote inside is doubled: `""`). Spaces around
//! values are ignored. A cell must not contain a line break.
//!
//! **Header.** The first non-blank line names the columns. Names are matched ignoring case,
//! accents, spaces, dashes and underscores, so `Téléphone`, `TELEPHONE` and `télé-phone` are
//! the same column:
//!
//! | Column      | Also accepted                                        | Required            |
//! |-------------|------------------------------------------------------|---------------------|
//! | `email`     | `e-mail`, `courriel`, `mail`, `adresse e-mail`       | this or `telephone` |
//! | `telephone` | `téléphone`, `mobile`, `portable`, `phone`, `numero` | this or `email`     |
//! | `themes`    | `thèmes`, `topics`, `theme`                          | yes                 |
//! | `canaux`    | `channels`, `canal`                                  | no                  |
//! | `reference` | `référence`, `formulaire`, `ref`                     | no                  |
//! | `statut`    | `status`                                             | no                  |
//!
//! Other columns (`id`, `source`, `cree_le`, notes…) are ignored. When two columns have the same
//! meaning (say `Téléphone` and `Portable`), the leftmost one is used.
//!
//! **Lines.** Line numbers count every physical line of the file, the header being line 1 in an
//! ordinary file, so they match the row numbers the spreadsheet shows. Blank lines, and lines
//! whose cells are all empty (`;;;`), are skipped. A line with fewer cells than the header has
//! columns, or with values to the right of the last named column, is refused as a whole (field
//! `ligne`): its values are probably shifted by a wrong separator, and guessing would subscribe
//! the wrong person to the wrong thing.
//!
//! **`email`, `telephone`.** At least one per line. Phone numbers are French mobiles in any
//! usual form (`06 12 34 56 78`, `+33 6 12 34 56 78`, or `612345678` when the spreadsheet
//! dropped the leading zero); landlines are refused since they cannot receive SMS. An address
//! or number already seen on an earlier line of the same file is refused on the later line
//! (addresses compared ignoring case, numbers after conversion to E.164).
//!
//! **`themes`.** One or more topics, each written as its identifier (`alerte-meteo`) or its
//! name (`Alerte météo`, matched ignoring case and accents), separated by `|` or `+`, and also
//! by `,` in a `;` file (or `;` in a `,` file, inside quotes). `/` is *not* a separator: the
//! name `Culture/Animations` contains it. A name that itself contains a separator still
//! matches, as the longest run of text naming a topic wins. Only topics open on the import day
//! are accepted.
//!
//! **`canaux`.** `email` (or `e-mail`, `courriel`), `sms` and/or `voice` (or `appel`: a call
//! that reads alerts aloud; the `telephone` may then be a landline), separated by `|`, `+`, spaces,
//! and `,` in a `;` file (or `;` in a `,` file). They apply to every topic of the line. A value may also be written
//! `topic:channel` (for example `alerte-meteo:sms`, as the export writes it) to give channels
//! to one topic only; every topic of the line then needs at least one channel, from such a pair
//! or from a plain channel. When the cell is empty, the line gets every channel it has a
//! contact for: `email` when an address is given, `sms` when a number is given.
//!
//! **`reference`.** The paper form's reference, kept as proof of consent (100 characters at
//! most). When empty: `import CSV ligne {n}`.
//!
//! **`statut`.** Empty or `actif`. Lines exported as `désabonné` or `en attente` are refused:
//! importing them would subscribe people who left or never confirmed, without their consent.
//!
//! Each line is checked like a paper form typed by staff (no consent box: the signed form is
//! the consent). A refused line gives one [`LineError`] per faulty column, named as in the
//! file's vocabulary: `email`, `telephone`, `themes`, `canaux`, `reference`, `statut`, or
//! `ligne` for a line that cannot be read. The whole file is refused (an `Err` about the
//! header, line 1, with field `fichier`, `themes` or `email`) only when it is empty, has no recognisable header, lacks a `themes` column, lacks both
//! contact columns, or has no line after the header.
//!
//! # Export format
//!
//! UTF-8 with a byte-order mark (so Excel detects the encoding), `;` separated (what French
//! Excel expects), CRLF line ends, quoted only where needed. Columns:
//! `id;email;telephone;statut;themes;inscriptions;canaux;source;reference;cree_le;modifie_le`.
//!
//! - `telephone` is written as dialled from France, `06 12 34 56 78` (overseas departments'
//!   mobiles too: `06 39 50 61 72`), other countries as `00 44 7400 123456`: never with a
//!   leading `+`, so no guard character shows in front of it.
//! - `statut` is `en attente`, `actif` or `désabonné`; `source` is `web`, `papier` (typed in)
//!   or `import` (a line of an imported file).
//! - `themes` lists topic names joined by ` | `; `inscriptions` says the same for a person,
//!   each topic with its channels (`Informations pratiques : e-mail, SMS | Alerte météo : SMS`);
//!   `canaux` lists every choice as `topic:channel` joined by ` | `
//!   (`alerte-meteo:sms | infos-pratiques:email`), which the import reads back.
//! - `reference` is the paper form's reference (empty for web sign-ups).
//! - `cree_le`, `modifie_le` are `YYYY-MM-DD HH:MM`, Europe/Paris time.
//! - A cell starting with `=`, `+`, `-` or `@` (only text a resident typed can) is prefixed with `'`
//!   so spreadsheets show it as text instead of running it as a formula (a resident's address
//!   is typed by the resident). The import removes a `'` followed by one of these characters.
//!
//! An exported file can be imported again: contacts, topics and per-topic channels come back
//! unchanged, and `désabonné` / `en attente` lines are refused (see `statut`). What does not
//! come back: the identifier, the dates, and the consent proof of web sign-ups (address, user
//! agent, time) — an import creates new subscribers whose consent is the paper form named in
//! `reference`. Topics closed since the export are refused.

mod decode;
mod export;
mod import;

/// A refused line, as big-file jobs keep it.
pub use crate::domain::file_job::LineError;
pub use decode::decode_text;
pub use export::{export_csv, export_header, export_rows};
pub use import::{
    check_first_part, check_import, check_part, line_ends, only_header, separator_of,
    whole_records, ImportCheck, ImportLine, ImportPart, SeenContacts,
};

/// The UTF-8 byte-order mark the export starts with (so Excel detects the encoding).
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 4] = ['=', '+', '-', '@'];
#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::{DateTime, TimeZone, Utc};

    use super::*;
    use crate::domain::contact::{Channel, Email, PhoneNumber};
    use crate::domain::subscriber::{
        Choice, Consent, ConsentSource, Subscriber, SubscriberId, SubscriberState,
        CONSENT_WORDING_VERSION,
    };
    use crate::domain::topic::{default_topics, TopicSlug};
    use encoding_rs::WINDOWS_1252;

    /// The line's choices as `slug:channel`, in the sign-up's order.
    fn choices_of(line: &ImportLine) -> Vec<String> {
        line.signup
            .choices
            .iter()
            .map(|c| format!("{}:{}", c.topic, c.channel))
            .collect()
    }

    fn check(bytes: &[u8]) -> ImportCheck {
        check_import(bytes, &default_topics()).unwrap()
    }

    fn refused(bytes: &[u8]) -> LineError {
        check_import(bytes, &default_topics()).unwrap_err()
    }

    fn err(line: usize, field: &str, message: &str) -> LineError {
        LineError::new(line, field, message)
    }

    const SEMICOLON_FILE: &str = "Courriel;Téléphone;Thèmes;Canaux;Référence\r\n\
        jean@exemple.fr;;Alerte météo;;\r\n\
        ;06 12 34 56 78;infos-pratiques;;\r\n\
        marie@exemple.fr;07 81 23 45 67;alerte-meteo, Culture/Animations;email+sms;F-2026-001\r\n";

    fn assert_semicolon_file_lines(check: &ImportCheck) {
        assert_eq!(check.errors, []);
        assert_eq!(check.valid.len(), 3);
        let [jean, phone_only, marie] = &check.valid[..] else {
            unreachable!()
        };

        assert_eq!(jean.line, 2);
        assert_eq!(
            jean.signup.email.as_ref().unwrap().as_str(),
            "jean@exemple.fr"
        );
        assert_eq!(jean.signup.phone, None);
        assert_eq!(choices_of(jean), ["alerte-meteo:email"]);
        assert_eq!(jean.form_reference, "import CSV ligne 2");

        assert_eq!(phone_only.line, 3);
        assert_eq!(phone_only.signup.email, None);
        assert_eq!(
            phone_only.signup.phone.as_ref().unwrap().as_str(),
            "+33612345678"
        );
        assert_eq!(choices_of(phone_only), ["infos-pratiques:sms"]);
        assert_eq!(phone_only.form_reference, "import CSV ligne 3");

        assert_eq!(marie.line, 4);
        assert_eq!(
            marie.signup.phone.as_ref().unwrap().as_str(),
            "+33781234567"
        );
        assert_eq!(
            choices_of(marie),
            [
                "alerte-meteo:email",
                "alerte-meteo:sms",
                "culture-animations:email",
                "culture-animations:sms"
            ]
        );
        assert_eq!(marie.form_reference, "F-2026-001");
    }

    #[test]
    fn utf8_semicolon_file_with_bom_imports() {
        let bytes = [UTF8_BOM, SEMICOLON_FILE.as_bytes()].concat();
        assert_semicolon_file_lines(&check(&bytes));
    }

    #[test]
    fn windows_1252_file_with_accented_names_imports() {
        let (bytes, _, unmappable) = WINDOWS_1252.encode(SEMICOLON_FILE);
        assert!(!unmappable);
        // It really is not UTF-8: "é" is the single byte 0xE9.
        assert!(std::str::from_utf8(&bytes).is_err());
        assert!(bytes.contains(&0xE9));
        assert_eq!(decode_text(&bytes), SEMICOLON_FILE);
        assert_semicolon_file_lines(&check(&bytes));
    }

    #[test]
    fn comma_file_with_quoted_fields_imports() {
        let file = "email,telephone,themes,canaux,reference,commentaire\n\
            \"anne@exemple.fr\",\"+33 6 12 34 56 78\",\"alerte-meteo | Informations pratiques\",\"sms\",\"Formulaire 12, mairie annexe\",\"Vue au marché, samedi\"\n\
            paul@exemple.fr,,\"Culture/Animations;infos-pratiques\",,,\n";
        let check = check(file.as_bytes());
        assert_eq!(check.errors, []);
        assert_eq!(check.valid.len(), 2);
        let (anne, paul) = (&check.valid[0], &check.valid[1]);
        assert_eq!(anne.line, 2);
        assert_eq!(anne.signup.phone.as_ref().unwrap().as_str(), "+33612345678");
        assert_eq!(
            choices_of(anne),
            ["alerte-meteo:sms", "infos-pratiques:sms"]
        );
        assert_eq!(anne.form_reference, "Formulaire 12, mairie annexe");
        assert_eq!(paul.line, 3);
        assert_eq!(
            choices_of(paul),
            ["culture-animations:email", "infos-pratiques:email"]
        );
        assert_eq!(paul.form_reference, "import CSV ligne 3");
    }

    #[test]
    fn each_bad_line_gives_one_error_and_good_lines_stay_valid() {
        let file = "email;telephone;themes;canaux\n\
            ok1@exemple.fr;;alerte-meteo;\n\
            pas-une-adresse;;alerte-meteo;\n\
            ;05 56 00 00 00;alerte-meteo;sms\n\
            ok2@exemple.fr;;inconnu;\n\
            ;;alerte-meteo;\n\
            \n\
            OK1@Exemple.fr;;infos-pratiques;\n\
            ;;;\n\
            ;07 81 23 45 67;alerte-meteo;\n";
        let check = check(file.as_bytes());
        assert_eq!(
            check.errors,
            [
                err(
                    3,
                    "email",
                    "L'adresse e-mail « pas-une-adresse » n'est pas valide (exemple : prenom.nom@exemple.fr)."
                ),
                err(
                    4,
                    "telephone",
                    "Le numéro « 05 56 00 00 00 » n'est pas un numéro de mobile : les SMS ne peuvent être envoyés qu'à un portable (06 ou 07)."
                ),
                err(
                    5,
                    "themes",
                    "Le thème « inconnu » n'existe pas ou n'est plus proposé (thèmes proposés : culture-animations, infos-pratiques, alerte-meteo)."
                ),
                err(
                    6,
                    "email",
                    "Indiquez une adresse e-mail ou un numéro de mobile (au moins l'un des deux)."
                ),
                err(8, "email", "Adresse déjà présente ligne 2 du fichier."),
            ]
        );
        let valid: Vec<usize> = check.valid.iter().map(|l| l.line).collect();
        assert_eq!(valid, [2, 10]);
        assert_eq!(choices_of(&check.valid[1]), ["alerte-meteo:sms"]);
    }

    #[test]
    fn a_repeated_phone_number_is_refused_in_any_format() {
        let file = "telephone;themes\n06 12 34 56 78;alerte-meteo\n+33\u{a0}6\u{a0}12\u{a0}34\u{a0}56\u{a0}78;infos-pratiques\n";
        let check = check(file.as_bytes());
        assert_eq!(check.valid.len(), 1);
        assert_eq!(
            check.errors,
            [err(
                3,
                "telephone",
                "Numéro déjà présent ligne 2 du fichier."
            )]
        );
    }

    #[test]
    fn channels_can_be_given_per_topic() {
        let file = "email;telephone;themes;canaux\n\
            a@exemple.fr;06 12 34 56 78;alerte-meteo | infos-pratiques;alerte-meteo:sms email\n\
            b@exemple.fr;;alerte-meteo;fax\n\
            c@exemple.fr;;alerte-meteo;infos-pratiques:email\n\
            d@exemple.fr;06 12 34 56 79;alerte-meteo | infos-pratiques;alerte-meteo:sms\n\
            e@exemple.fr;;alerte-meteo;sms\n";
        let check = check(file.as_bytes());
        assert_eq!(check.valid.len(), 1);
        assert_eq!(
            choices_of(&check.valid[0]),
            [
                "alerte-meteo:email",
                "alerte-meteo:sms",
                "infos-pratiques:email"
            ]
        );
        assert_eq!(
            check.errors,
            [
                err(
                    3,
                    "canaux",
                    "Canal inconnu : « fax ». Les canaux possibles sont « email », « sms » et « voice » (appel vocal)."
                ),
                err(
                    4,
                    "canaux",
                    "« infos-pratiques:email » : le thème « Informations pratiques » n'est pas dans la colonne themes de cette ligne."
                ),
                err(
                    5,
                    "canaux",
                    "Aucun canal pour le thème « Informations pratiques » : ajoutez « infos-pratiques:email » ou « infos-pratiques:sms », ou un canal valable pour tous les thèmes."
                ),
                err(
                    6,
                    "canaux",
                    "Vous avez choisi SMS pour « Alerte météo » : indiquez aussi un numéro de mobile."
                ),
            ]
        );
    }

    #[test]
    fn broken_lines_are_reported_as_a_whole() {
        let file = "email;themes;canaux\n\
            a@exemple.fr,alerte-meteo\n\
            b@exemple.fr;alerte-meteo;email;en trop\n\
            c@exemple.fr;alerte-meteo;email;\n\
            \"d@exemple.fr;alerte-meteo;email\n\
            e@exemple.fr;alerte-meteo;email\n";
        let check = check(file.as_bytes());
        assert_eq!(check.valid.len(), 1);
        assert_eq!(check.valid[0].line, 4);
        assert_eq!(
            check.errors,
            [
                err(
                    2,
                    "ligne",
                    "Cette ligne a 1 cellule alors que l'en-tête a 3 colonnes : vérifiez le séparateur (« ; ») sur cette ligne."
                ),
                err(
                    3,
                    "ligne",
                    "Cette ligne a des valeurs au-delà de la dernière colonne de l'en-tête : une valeur contient peut-être le séparateur « ; » sans être entre guillemets."
                ),
                err(
                    5,
                    "ligne",
                    "Une cellule de cette ligne contient un retour à la ligne (ou un guillemet \" jamais refermé) : elle se poursuit jusqu'à la ligne 6. Corrigez cette cellule."
                ),
            ]
        );
    }

    #[test]
    fn lines_exported_as_unsubscribed_or_pending_are_refused() {
        let file = "statut;email;themes;reference\n\
            actif;a@exemple.fr;alerte-meteo;\n\
            désabonné;b@exemple.fr;alerte-meteo;\n\
            en attente;c@exemple.fr;alerte-meteo;\n\
            ;d@exemple.fr;alerte-meteo;";
        let check = check(file.as_bytes());
        let valid: Vec<usize> = check.valid.iter().map(|l| l.line).collect();
        assert_eq!(valid, [2, 5]);
        assert_eq!(
            check.errors,
            [
                err(
                    3,
                    "statut",
                    "Cette personne s'est désabonnée : l'importer la réabonnerait sans son accord. Retirez la ligne du fichier."
                ),
                err(
                    4,
                    "statut",
                    "Cette inscription n'a jamais été confirmée : l'importer l'abonnerait sans preuve de consentement. Retirez la ligne du fichier."
                ),
            ]
        );
    }

    #[test]
    fn several_errors_of_one_line_are_listed_in_column_order() {
        let file = "email,telephone,themes\nx,01,inconnu\n";
        let check = check(file.as_bytes());
        let fields: Vec<&str> = check.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "telephone", "themes"]);
        assert!(check.errors.iter().all(|e| e.line == 2));
    }

    #[test]
    fn unusable_files_are_refused_as_a_whole() {
        assert_eq!(refused(b""), err(1, "fichier", "Le fichier est vide."));
        assert_eq!(
            refused(b"\xEF\xBB\xBF\r\n  \r\n"),
            err(1, "fichier", "Le fichier est vide.")
        );
        assert_eq!(
            refused("email;telephone;canaux\na@exemple.fr;;email\n".as_bytes()),
            err(
                1,
                "themes",
                "Il manque la colonne « themes » (noms acceptés : themes, thèmes, topics, theme)."
            )
        );
        assert_eq!(
            refused("nom;themes\nDupont;alerte-meteo\n".as_bytes()),
            err(
                1,
                "email",
                "Il manque une colonne « email » ou « telephone » (au moins l'une des deux)."
            )
        );
        assert_eq!(
            refused("a@exemple.fr;alerte-meteo\n".as_bytes()).field,
            "fichier"
        );
        assert_eq!(
            refused("email;themes\r\n".as_bytes()),
            err(
                1,
                "fichier",
                "Le fichier ne contient que la ligne d'en-tête : aucun abonné à importer."
            )
        );
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn subscriber(
        email: Option<&str>,
        phone: Option<&str>,
        choices: &[(&str, Channel)],
        source: ConsentSource,
    ) -> Subscriber {
        Subscriber {
            id: SubscriberId::new(),
            email: email.map(|e| Email::from_str(e).unwrap()),
            phone: phone.map(|p| PhoneNumber::from_str(p).unwrap()),
            choices: choices
                .iter()
                .map(|(topic, channel)| Choice {
                    topic: TopicSlug::from_str(topic).unwrap(),
                    channel: *channel,
                })
                .collect(),
            zones: Default::default(),
            state: SubscriberState::Active,
            language: "fr".into(),
            consent: Consent {
                source,
                at: at(2026, 7, 14, 10, 30),
                wording_version: CONSENT_WORDING_VERSION.into(),
            },
            // 10:30 UTC is 12:30 in Paris in summer, 08:05 UTC is 09:05 in winter.
            created_at: at(2026, 7, 14, 10, 30),
            updated_at: at(2026, 12, 1, 8, 5),
        }
    }

    fn paper(reference: &str) -> ConsentSource {
        ConsentSource::Paper {
            staff_id: "agent-1".into(),
            form_reference: reference.into(),
            place: None,
            imported: false,
        }
    }

    #[test]
    fn export_then_import_gives_the_same_contacts_and_choices() {
        let topics = default_topics();
        let jean = subscriber(
            Some("jean@exemple.fr"),
            Some("06 12 34 56 78"),
            &[
                ("alerte-meteo", Channel::Sms),
                ("alerte-meteo", Channel::Email),
                ("infos-pratiques", Channel::Email),
            ],
            paper("F-12"),
        );
        let web = subscriber(
            None,
            Some("07 81 23 45 67"),
            &[("culture-animations", Channel::Sms)],
            ConsentSource::Web {
                ip: "192.0.2.1".into(),
                user_agent: "test".into(),
            },
        );
        let exported = export_csv(&[jean.clone(), web.clone()], &topics);

        assert!(exported.starts_with(UTF8_BOM));
        let text = std::str::from_utf8(&exported[UTF8_BOM.len()..]).unwrap();
        assert_eq!(
            text,
            format!(
                "id;email;telephone;statut;themes;inscriptions;canaux;source;reference;cree_le;modifie_le\r\n\
                 {};jean@exemple.fr;06 12 34 56 78;actif;Informations pratiques | Alerte météo;\
                 Informations pratiques : e-mail | Alerte météo : e-mail, SMS;\
                 infos-pratiques:email | alerte-meteo:email | alerte-meteo:sms;papier;F-12;\
                 2026-07-14 12:30;2026-12-01 09:05\r\n\
                 {};;07 81 23 45 67;actif;Culture/Animations;Culture/Animations : SMS;\
                 culture-animations:sms;web;;\
                 2026-07-14 12:30;2026-12-01 09:05\r\n",
                jean.id, web.id
            )
        );

        let check = check_import(&exported, &topics).unwrap();
        assert_eq!(check.errors, []);
        assert_eq!(check.valid.len(), 2);
        for (line, original) in check.valid.iter().zip([&jean, &web]) {
            assert_eq!(line.signup.email, original.email);
            assert_eq!(line.signup.phone, original.phone);
            assert_eq!(line.signup.choices, original.choices);
        }
        assert_eq!(check.valid[0].form_reference, "F-12");
        assert_eq!(check.valid[1].form_reference, "import CSV ligne 3");
    }

    #[test]
    fn export_writes_french_statuses_and_neutralises_formulas() {
        let mut left = subscriber(
            Some("=1+1@exemple.fr"),
            None,
            &[],
            paper("=HYPERLINK(\"http://x\";\"clic\")"),
        );
        left.unsubscribe(left.updated_at);
        let exported = export_csv(&[left.clone()], &default_topics());
        let text = decode_text(&exported);
        let row = text.lines().nth(1).unwrap();
        assert_eq!(
            row,
            format!(
                "{};'=1+1@exemple.fr;;désabonné;;;;papier;\"'=HYPERLINK(\"\"http://x\"\";\"\"clic\"\")\";2026-07-14 12:30;2026-12-01 09:05",
                left.id
            )
        );
        // Re-importing refuses the line for its status, and reads the cells without the prefix.
        let check = check_import(&exported, &default_topics()).unwrap();
        let fields: Vec<&str> = check.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["statut", "themes"]);
    }

    #[test]
    fn topic_names_containing_a_separator_still_match() {
        let mut topics = default_topics();
        topics[0].name = "Sport + Loisirs".into();
        let file = "email;themes\na@exemple.fr;Sport + Loisirs | alerte meteo\n";
        let check = check_import(file.as_bytes(), &topics).unwrap();
        assert_eq!(check.errors, []);
        assert_eq!(
            choices_of(&check.valid[0]),
            ["alerte-meteo:email", "culture-animations:email"]
        );
    }
}
