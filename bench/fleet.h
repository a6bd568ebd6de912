/*
** A generated fleet for the benchmarks. Customers of the three tiers are
** spread over the three default regions in the reference deployment's
** shares (us-west1 50 %, us-central1 30 %, eu-west1 20 %) and provisioned
** through tenant_provision(). Their rows are written straight into the
** physical files.
**
** Opal customers of a region are spread over that region's first few
** Sapphire customers (5, 3 and 2 parents, as in the reference fleet); Onyx
** customers take every Sapphire of their region in turn as parent.
*/
#ifndef BENCH_FLEET_H
#define BENCH_FLEET_H

#include <sqlite3.h>

/* One provisioned customer. */
typedef struct FleetCustomer FleetCustomer;
struct FleetCustomer {
  char zId[16];            /* "s0001", "p0001", "x0001" */
  char zTier[12];          /* "sapphire", "opal", "onyx" */
  const char *zRegion;     /* static region name */
  char zParent[16];        /* "" for Sapphire */
  char zDatabase[96];      /* placement database name */
};

typedef struct Fleet Fleet;
struct Fleet {
  char zRoot[4096];        /* absolute root folder */
  int bEncrypted;          /* placements are encrypted (SQLCipher host) */
  int nCustomer;
  FleetCustomer *aCustomer;
  double aProvisionUs[3];  /* total provisioning time per tier */
  int anTier[3];           /* customers per tier: Sapphire, Opal, Onyx */
};

/* Index of a tier name in Fleet.aProvisionUs: 0, 1 or 2. */
int fleetTierIndex(const char *zTier);

/*
** Provision nSapphire + nOpal + nOnyx customers into the root that
** TENANT_ROOT names, through pAdmin. Fills *pFleet. Exits on failure.
*/
void fleetProvision(sqlite3 *pAdmin, const char *zRoot, int bEncrypted,
                    int nSapphire, int nOpal, int nOnyx, Fleet *pFleet);

/* Physical path and key identity of the owner file of customer p. */
void fleetOwnerFile(const Fleet *pFleet, const FleetCustomer *p,
                    char *zPath, int nPath, char *zKeyId, int nKeyId);

/* Physical path and key identity of the private file of Sapphire p. */
void fleetPrivateFile(const Fleet *pFleet, const FleetCustomer *p,
                      char *zPath, int nPath, char *zKeyId, int nKeyId);

/* The first customer of tier zTier, or NULL. */
const FleetCustomer *fleetFirst(const Fleet *pFleet, const char *zTier);

/* The customer whose id is zId, or NULL. */
const FleetCustomer *fleetFind(const Fleet *pFleet, const char *zId);

/*
** Insert nRow rows for every customer into its first owner partition
** (communications_data, or basic_communications for Onyx), with ids
** "r000000".."r<nRow-1>", writing the physical files directly, one
** transaction per file.
*/
void fleetFillRows(const Fleet *pFleet, int nRow);

/*
** Open the files that customer p's session attaches as a plain application
** would: sqlite3_open_v2() on the owner file, then ATTACH of the others
** (Sapphire: its private.db; Opal: the parent's private.db; Onyx: the
** parent's owner.db and private.db), keyed in the SQLCipher host, with
** every schema read.
*/
sqlite3 *fleetOpenPlain(const Fleet *pFleet, const FleetCustomer *p);

/* Save the fleet to <root>/fleet.txt, and load it again. */
void fleetSave(const Fleet *pFleet);
void fleetLoad(const char *zRoot, Fleet *pFleet);

void fleetFree(Fleet *pFleet);

#endif /* BENCH_FLEET_H */
