"""Paper claim forms as PDF: the CMS-1500 (02/12) for professional claims and the UB-04
(CMS-1450) for institutional ones, drawn on the form or as data alone for pre-printed forms."""
