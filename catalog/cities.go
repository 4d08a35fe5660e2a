package catalog

// cities name where each region is, as the AWS console does, for people
// who know their city rather than the region code.
var cities = map[string]string{
	"us-east-1":      "N. Virginia",
	"us-west-2":      "Oregon",
	"af-south-1":     "Cape Town",
	"ap-northeast-1": "Tokyo",
	"ap-northeast-2": "Seoul",
	"ap-southeast-1": "Singapore",
	"ap-southeast-2": "Sydney",
	"ca-central-1":   "Canada (Central)",
	"eu-central-1":   "Frankfurt",
	"eu-west-2":      "London",
	"us-gov-west-1":  "AWS GovCloud (US-West)",
}

// City is where region is ("N. Virginia" for us-east-1), or "" for a
// region the catalog does not know.
func City(region string) string { return cities[region] }
