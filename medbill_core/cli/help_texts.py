"""Help texts shared by a command module and the root's help listing (``medbill --help``
prints them without importing the command modules)."""

CODES_HELP = ("Code sets (ICD-10-CM and PCS, HCPCS/CPT, modifiers, place of service, CARC/RARC,"
              " NCCI, the Medicare fee schedule): show a code as of a date of service, search"
              " descriptions, see which releases are loaded and load official updates.")
