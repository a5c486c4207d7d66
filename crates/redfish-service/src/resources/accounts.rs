//! `AccountService`, its `Accounts` and `Roles`, read only: the accounts are the BMCs'
//! `[[bmc.users]]` of the configuration file, so creating or changing one through the API is
//! refused (405 with `Allow`).

use super::{on_service, Page as Family, GET};
use crate::roles::Role;
use crate::{reply, Ctx, Route};
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const ACCOUNTS: &str = "/redfish/v1/AccountService/Accounts";
const ROLES: &str = "/redfish/v1/AccountService/Roles";

/// What this family serves.
pub(crate) enum Page {
    Service,
    Accounts,
    Account(String),
    Roles,
    Role(String),
}

/// The routes of this family.
pub(crate) fn route(segs: &[&str]) -> Option<Route> {
    let page = Family::Accounts;
    match segs {
        ["AccountService"] => on_service(
            "/redfish/v1/AccountService",
            GET,
            false,
            page(Page::Service),
        ),
        ["AccountService", "Accounts"] => on_service(ACCOUNTS, GET, false, page(Page::Accounts)),
        ["AccountService", "Accounts", id] => on_service(
            "/redfish/v1/AccountService/Accounts/{id}",
            GET,
            false,
            page(Page::Account(id.to_string())),
        ),
        ["AccountService", "Roles"] => on_service(ROLES, GET, false, page(Page::Roles)),
        ["AccountService", "Roles", id] => on_service(
            "/redfish/v1/AccountService/Roles/{id}",
            GET,
            false,
            page(Page::Role(id.to_string())),
        ),
        _ => None,
    }
}

/// The accounts the user may see, by name, with the highest role each has: its own, and, on
/// the BMCs where it is an Administrator, every account of those BMCs.
fn accounts(ctx: &Ctx<'_>) -> BTreeMap<String, Role> {
    let who = ctx.who();
    let mut out = BTreeMap::new();
    if let Some(r) = who.best_role() {
        out.insert(who.user.clone(), r);
    }
    for (name, grant) in who.grants.iter() {
        if grant.role != Role::Administrator {
            continue;
        }
        let Some(bmc) = ctx.svc.fleet.bmc(name) else {
            continue;
        };
        for u in bmc
            .settings()
            .users
            .iter()
            .filter(|u| u.enabled && !u.name.is_empty())
        {
            if let Some(role) = Role::from_privilege(u.privilege) {
                let e = out.entry(u.name.clone()).or_insert(role);
                *e = (*e).max(role);
            }
        }
    }
    out
}

/// Serves this family's pages.
pub(crate) fn serve(ctx: &Ctx<'_>, page: Page) -> Response {
    let body = match page {
        Page::Service => json!({
            "@odata.type": "#AccountService.v1_10_0.AccountService",
            "@odata.id": "/redfish/v1/AccountService",
            "Id": "AccountService",
            "Name": "Account Service",
            "Description": "Accounts are the BMCs' users of the configuration file: read only here.",
            "ServiceEnabled": true,
            "LocalAccountAuth": "Enabled",
            "MinPasswordLength": 1,
            "MaxPasswordLength": 20,
            "Status": { "State": "Enabled", "Health": "OK" },
            "Accounts": { "@odata.id": ACCOUNTS },
            "Roles": { "@odata.id": ROLES },
        }),
        Page::Accounts => reply::collection(
            "#ManagerAccountCollection.ManagerAccountCollection",
            ACCOUNTS,
            "Accounts Collection",
            accounts(ctx)
                .keys()
                .map(|n| format!("{ACCOUNTS}/{n}"))
                .collect(),
        ),
        Page::Account(id) => match accounts(ctx).get(&id) {
            Some(role) => account(&id, *role),
            None => return reply::not_found(&ctx.path),
        },
        Page::Roles => reply::collection(
            "#RoleCollection.RoleCollection",
            ROLES,
            "Roles Collection",
            Role::ALL
                .iter()
                .map(|r| format!("{ROLES}/{}", r.id()))
                .collect(),
        ),
        Page::Role(id) => match Role::ALL.iter().find(|r| r.id() == id) {
            Some(r) => role(*r),
            None => return reply::not_found(&ctx.path),
        },
    };
    reply::resource(&ctx.headers, body)
}

fn account(name: &str, role: Role) -> Value {
    json!({
        "@odata.type": "#ManagerAccount.v1_8_0.ManagerAccount",
        "@odata.id": format!("{ACCOUNTS}/{name}"),
        "Id": name,
        "Name": "User Account",
        "UserName": name,
        "RoleId": role.id(),
        "AccountTypes": ["Redfish", "IPMI"],
        "Enabled": true,
        "Locked": false,
        "Password": null,
        "Links": { "Role": { "@odata.id": format!("{ROLES}/{}", role.id()) } },
    })
}

fn role(r: Role) -> Value {
    json!({
        "@odata.type": "#Role.v1_3_1.Role",
        "@odata.id": format!("{ROLES}/{}", r.id()),
        "Id": r.id(),
        "Name": format!("{} Role", r.id()),
        "RoleId": r.id(),
        "IsPredefined": true,
        "AssignedPrivileges": r.privileges(),
    })
}
