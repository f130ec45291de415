package bot

// ClaimYield is claimYield, for tests of how long a claim waits.
const ClaimYield = claimYield
