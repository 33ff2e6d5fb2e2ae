//! A small SMBIOS table parser: the DMI strings `systemd-detect-virt` looks at, from the raw
//! table Windows returns for `GetSystemFirmwareTable('RSMB')` (or any raw SMBIOS table).

/// The DMI identity strings and the BIOS "virtual machine" bit of an SMBIOS table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SmbiosIdentity {
    /// Type 0 (BIOS) vendor, as Linux `bios_vendor`.
    pub bios_vendor: Option<String>,
    /// Type 1 (System) manufacturer, as Linux `sys_vendor`.
    pub sys_vendor: Option<String>,
    /// Type 1 product name, as Linux `product_name`.
    pub product_name: Option<String>,
    /// Type 1 version, as Linux `product_version`.
    pub product_version: Option<String>,
    /// Type 2 (Baseboard) manufacturer, as Linux `board_vendor`.
    pub board_vendor: Option<String>,
    /// BIOS characteristics extension byte 2, bit 4 ("system is a virtual machine") of type 0.
    pub vm_bit: Option<bool>,
}

impl SmbiosIdentity {
    /// The values in the order of [`crate::virt::DMI_FILES`].
    #[must_use]
    pub fn dmi_values(&self) -> [Option<String>; 5] {
        [
            self.product_name.clone(),
            self.sys_vendor.clone(),
            self.board_vendor.clone(),
            self.bios_vendor.clone(),
            self.product_version.clone(),
        ]
    }
}

/// Strips Windows' `RawSMBIOSData` header (calling method, major, minor, DMI revision, u32 length)
/// and returns the structure table it carries; `None` if the header lies.
#[must_use]
pub fn table_from_rsmb(raw: &[u8]) -> Option<&[u8]> {
    let len = u32::from_le_bytes(raw.get(4..8)?.try_into().ok()?) as usize;
    raw.get(8..8usize.checked_add(len)?)
}

/// Parses a raw SMBIOS structure table. Malformed data ends the walk; it never panics.
#[must_use]
pub fn parse_table(table: &[u8]) -> SmbiosIdentity {
    let mut id = SmbiosIdentity::default();
    let mut pos = 0usize;
    while pos + 4 <= table.len() {
        let kind = table[pos];
        let len = table[pos + 1] as usize;
        if len < 4 || pos + len > table.len() {
            break;
        }
        let formatted = &table[pos..pos + len];
        // The string set starts after the formatted area and ends with two NULs.
        let strings_start = pos + len;
        let mut end = strings_start;
        while end + 1 < table.len() && !(table[end] == 0 && table[end + 1] == 0) {
            end += 1;
        }
        let strings: Vec<&[u8]> = if end > strings_start {
            table[strings_start..end].split(|&b| b == 0).collect()
        } else {
            Vec::new()
        };
        let string_at = |offset: usize| -> Option<String> {
            let idx = *formatted.get(offset)? as usize;
            let s = strings.get(idx.checked_sub(1)?)?;
            let s = String::from_utf8_lossy(s).trim().to_string();
            (!s.is_empty()).then_some(s)
        };
        match kind {
            0 if id.bios_vendor.is_none() => {
                id.bios_vendor = string_at(4);
                id.vm_bit = crate::virt::smbios_vm_bit(formatted);
            }
            1 if id.sys_vendor.is_none() && id.product_name.is_none() => {
                id.sys_vendor = string_at(4);
                id.product_name = string_at(5);
                id.product_version = string_at(6);
            }
            2 if id.board_vendor.is_none() => id.board_vendor = string_at(4),
            127 => break,
            _ => {}
        }
        pos = end + 2;
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn structure(kind: u8, formatted: &[u8], strings: &[&str]) -> Vec<u8> {
        let mut v = vec![kind, (formatted.len() + 4) as u8, 0, 0];
        v.extend_from_slice(formatted);
        for s in strings {
            v.extend_from_slice(s.as_bytes());
            v.push(0);
        }
        if strings.is_empty() {
            v.push(0);
        }
        v.push(0);
        v
    }

    /// A Hyper-V Gen 2 table: type 0, 1, 2, end.
    fn hyperv_table() -> Vec<u8> {
        let mut t = Vec::new();
        // Type 0: vendor=1, version=2, ..., byte 0x13 (index 19 of the structure) = 0x10.
        let mut f0 = vec![0u8; 20];
        f0[0] = 1; // offset 4: vendor
        f0[1] = 2; // offset 5: version
        f0[15] = 0x10; // offset 19: characteristics extension byte 2
        t.extend(structure(
            0,
            &f0,
            &["Microsoft Corporation", "Hyper-V UEFI Release v4.1"],
        ));
        let mut f1 = vec![0u8; 23];
        f1[0] = 1;
        f1[1] = 2;
        f1[2] = 3;
        t.extend(structure(
            1,
            &f1,
            &[
                "Microsoft Corporation",
                "Virtual Machine",
                "Hyper-V UEFI Release v4.1 ",
            ],
        ));
        t.extend(structure(
            2,
            &[1, 2, 3, 0],
            &["Microsoft Corporation", "Virtual Machine", "7.0"],
        ));
        t.extend(structure(127, &[], &[]));
        t
    }

    #[test]
    fn parses_identity() {
        let id = parse_table(&hyperv_table());
        assert_eq!(id.sys_vendor.as_deref(), Some("Microsoft Corporation"));
        assert_eq!(id.product_name.as_deref(), Some("Virtual Machine"));
        assert_eq!(
            id.product_version.as_deref(),
            Some("Hyper-V UEFI Release v4.1")
        );
        assert_eq!(id.board_vendor.as_deref(), Some("Microsoft Corporation"));
        assert_eq!(id.bios_vendor.as_deref(), Some("Microsoft Corporation"));
        assert_eq!(id.vm_bit, Some(true));
        let vm = crate::virt::VmSignals {
            dmi: id.dmi_values(),
            smbios_vm_bit: id.vm_bit,
            cpuid: Some(Some("microsoft".into())),
            ..Default::default()
        };
        assert_eq!(crate::virt::detect_vm(&vm), Some("microsoft"));
    }

    #[test]
    fn rsmb_header() {
        let table = hyperv_table();
        let mut raw = vec![0, 3, 4, 0];
        raw.extend_from_slice(&(table.len() as u32).to_le_bytes());
        raw.extend_from_slice(&table);
        assert_eq!(table_from_rsmb(&raw), Some(&table[..]));
        raw.truncate(raw.len() - 1);
        assert_eq!(table_from_rsmb(&raw), None);
        assert_eq!(table_from_rsmb(&[1, 2]), None);
    }

    #[test]
    fn zero_string_index_and_garbage() {
        let t = structure(1, &[0, 0, 0], &[]);
        let id = parse_table(&t);
        assert_eq!(id.sys_vendor, None);
        // Truncated and bogus lengths do not panic.
        for cut in 0..t.len() {
            let _ = parse_table(&t[..cut]);
        }
        let _ = parse_table(&[1, 2, 0, 0, 0]);
        let _ = parse_table(&[1, 255, 0, 0]);
    }
}
